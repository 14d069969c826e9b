// One AIC codec in a module Worker, so the page stays responsive while the model runs: the
// page starts two of these, one encoding and one decoding (on 2 cores they run in parallel).
// The page compiles the CPU module once and fetches the weights once, and passes both in
// `init`.
//
// Messages in:  {type:'init', role:'encoder'|'decoder', module, weights (ArrayBuffer)}
//               {type:'configure', backend:'auto'|'webgpu'|'cpu', quality?, targetKbps?, fps?}
//               {type:'encode', id, data (RGBA ArrayBuffer), width, height, timestampUs}
//               {type:'decode', id, bytes (ArrayBuffer)}
//               {type:'rate', targetKbps, fps}     (only if the encoder has setTargetBitrate)
//               {type:'keyframe'}                  (the receiver lost a delta frame's reference)
// Messages out: {type:'ready'} · {type:'configured', backend, note, rateControl}
//               {type:'encoded', id, bytes, stats} · {type:'decoded', id, data, width, height, stats}
//               {type:'error', id?, code, message}
import { initAic, AicEncoder, AicDecoder } from '/npm/dist/index.js';

let role = null;
let codec = null;
// Messages are handled strictly one after another (a configure never overlaps an encode).
let chain = Promise.resolve();
self.onmessage = ({ data: m }) => {
  chain = chain.then(() => handle(m)).catch((e) => {
    // 'rate' and 'keyframe' have no reply, so their errors must not stand in for another reply.
    if (m.type === 'rate' || m.type === 'keyframe') console.warn(`${m.type}: ${e?.message ?? e}`);
    else self.postMessage({ type: 'error', id: m.id, code: e?.code ?? 'error', message: String(e?.message ?? e) });
  });
};

async function handle(m) {
  switch (m.type) {
    case 'init': {
      role = m.role;
      await initAic({ cpu: m.module, weights: m.weights });
      self.postMessage({ type: 'ready' });
      return;
    }
    case 'configure': {
      // The package's `auto`: the WebGPU module only on a hardware adapter (a software one,
      // such as headless Chromium's SwiftShader, runs this model far slower than the CPU
      // module), the CPU module otherwise; `backendNote` says why.
      const next = role === 'encoder'
        ? await AicEncoder.create({ backend: m.backend, quality: m.quality ?? 3, codec: 'auto' })
        : await AicDecoder.create({ backend: m.backend });
      codec?.free();
      codec = next;
      const rateControl = role === 'encoder' && typeof codec.setTargetBitrate === 'function';
      if (rateControl && m.targetKbps) await codec.setTargetBitrate(m.targetKbps, m.fps ?? 30);
      self.postMessage({ type: 'configured', backend: codec.backend, note: codec.backendNote, rateControl });
      return;
    }
    case 'rate': {
      if (typeof codec?.setTargetBitrate === 'function') await codec.setTargetBitrate(m.targetKbps, m.fps);
      return;
    }
    case 'keyframe': {
      if (typeof codec?.requestKeyFrame === 'function') await codec.requestKeyFrame();
      return;
    }
    case 'encode': {
      const bytes = await codec.encode(
        { data: new Uint8Array(m.data), width: m.width, height: m.height },
        { timestampUs: m.timestampUs },
      );
      const out = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      self.postMessage({ type: 'encoded', id: m.id, bytes: out.buffer, stats: { ...codec.lastStats } }, [out.buffer]);
      return;
    }
    case 'decode': {
      const image = await codec.decode(new Uint8Array(m.bytes));
      const data = image.data;
      self.postMessage(
        { type: 'decoded', id: m.id, data: data.buffer, width: image.width, height: image.height, stats: { ...codec.lastStats } },
        [data.buffer],
      );
      return;
    }
    default:
      throw new Error(`unknown message ${m.type}`);
  }
}
