// The public API over the wasm module (crates/wasm): AicEncoder, AicDecoder, packets.
// Shared by the browser entry (index.js) and the Node entry (node.js), which differ only in
// how the .wasm file is fetched.
import init, {
  WasmEncoder,
  WasmDecoder,
  Packetizer,
  Reassembler,
  formatVersion,
  modelInfo,
} from './wasm/aic_wasm.js';
import { toRgba, toBytes, codedError } from './frames.js';

let ready = null;
let loaded = false;
let defaultSource = async () => undefined;

/** @internal The entry point says where the .wasm file is by default. */
export function setDefaultWasmSource(source) {
  defaultSource = source;
}

/**
 * Loads the wasm module once. Called by every `create`; call it yourself to pass another
 * location of `aic_wasm_bg.wasm` (URL, Response, bytes or WebAssembly.Module).
 */
export function initAic(source) {
  if (!ready) {
    ready = (async () => {
      const s = source ?? (await defaultSource());
      await init(s === undefined ? undefined : { module_or_path: s });
      loaded = true;
    })();
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Runs calls on one wasm object one after another (it may not be re-entered). */
class Serial {
  #tail = Promise.resolve();
  run(task) {
    const p = this.#tail.then(task, task);
    this.#tail = p.catch(() => {});
    return p;
  }
}

/** Compresses frames with the neural codec (or the lossless fallback). */
export class AicEncoder {
  #inner;
  #serial = new Serial();
  /** Stats of the last frame: { bytes, bpp, encodeMs, backend, codec, quality, fallbackReason, width, height }. */
  lastStats = null;

  constructor(inner) {
    this.#inner = inner;
  }

  /**
   * @param {{backend?: 'auto'|'webgpu'|'cpu', quality?: number, codec?: 'auto'|'neural'|'zlib'}} [options]
   */
  static async create({ backend = 'auto', quality = 3, codec = 'auto' } = {}) {
    await initAic();
    return new AicEncoder(await WasmEncoder.create(String(backend), String(codec), quality));
  }

  /** The backend the model runs on: 'webgpu', 'cpu' (or 'none' for codec 'zlib'). */
  get backend() {
    return this.#inner.backend;
  }

  /** Why 'auto' did not get WebGPU, if it did not. */
  get backendNote() {
    return this.#inner.backendNote ?? null;
  }

  /**
   * Encodes a VideoFrame, ImageData, ImageBitmap, canvas, image or { data, width, height }
   * (RGBA). Resolves to the AIC frame bytes.
   */
  encode(frame, { timestampUs } = {}) {
    return this.#serial.run(async () => {
      const t0 = now();
      const f = await toRgba(frame);
      const ts = timestampUs ?? f.timestampUs ?? Math.round(now() * 1000);
      const bytes = await this.#inner.encode(f.data, f.width, f.height, ts);
      const last = this.#inner.lastFrame;
      this.lastStats = {
        bytes: bytes.length,
        bpp: (bytes.length * 8) / (f.width * f.height),
        encodeMs: now() - t0,
        backend: this.backend,
        codec: last.codec,
        quality: last.quality,
        fallbackReason: last.fallbackReason ?? null,
        kind: last.kind,
        skippedFraction: last.updatedFraction === undefined ? null : 1 - last.updatedFraction,
        width: f.width,
        height: f.height,
      };
      return bytes;
    });
  }

  /**
   * Codes live video from now on: key and delta frames whose quality the rate controller
   * picks so the stream lands at `kbps` for `fps` frames a second (a new call takes effect
   * from the next frame). Frames must then be decoded in order by one AicDecoder.
   */
  setTargetBitrate(kbps, fps = 30) {
    return this.#serial.run(async () => this.#inner.setTargetBitrate(Number(kbps), Number(fps)));
  }

  /** Makes the next frame a key frame (a receiver lost its reference). */
  requestKeyFrame() {
    return this.#serial.run(async () => this.#inner.requestKeyFrame());
  }

  /** Frees the wasm memory now (otherwise the garbage collector does). */
  free() {
    this.#inner.free();
  }
}

/** Decodes AIC frames of every codec to RGBA. */
export class AicDecoder {
  #inner;
  #serial = new Serial();
  /** Stats of the last frame: { bytes, decodeMs, backend, codec, quality, seq, timestampUs, width, height }. */
  lastStats = null;

  constructor(inner) {
    this.#inner = inner;
  }

  /** @param {{backend?: 'auto'|'webgpu'|'cpu'}} [options] */
  static async create({ backend = 'auto' } = {}) {
    await initAic();
    return new AicDecoder(await WasmDecoder.create(String(backend)));
  }

  /** The backend the model runs on: 'webgpu' or 'cpu'. */
  get backend() {
    return this.#inner.backend;
  }

  /** Why 'auto' did not get WebGPU, if it did not. */
  get backendNote() {
    return this.#inner.backendNote ?? null;
  }

  /**
   * Decodes one AIC frame. Resolves to an ImageData in the browser, { data, width, height }
   * elsewhere. Bad bytes reject with an Error whose `code` says why; the decoder stays usable.
   */
  decode(bytes) {
    return this.#serial.run(async () => {
      const t0 = now();
      const input = toBytes(bytes);
      const d = await this.#inner.decode(input);
      const image =
        typeof ImageData !== 'undefined'
          ? new ImageData(d.data, d.width, d.height)
          : { data: d.data, width: d.width, height: d.height };
      this.lastStats = {
        bytes: input.length,
        decodeMs: now() - t0,
        backend: this.backend,
        codec: d.codec,
        quality: d.quality,
        kind: d.kind,
        skippedFraction: d.updatedFraction === undefined || d.kind !== 'delta' ? null : 1 - d.updatedFraction,
        seq: d.seq,
        timestampUs: d.timestampUs,
        width: d.width,
        height: d.height,
      };
      return image;
    });
  }

  /**
   * Entropy-decodes a neural frame without running the synthesis transform:
   * { symbols, crc32 }, the same fingerprint `aic info --latents` prints; undefined for a
   * lossless frame.
   */
  latents(bytes) {
    return this.#serial.run(async () => this.#inner.latents(toBytes(bytes)));
  }

  /** Frees the wasm memory now (otherwise the garbage collector does). */
  free() {
    this.#inner.free();
  }
}

/** Sends AIC frames over an RTCDataChannel as packets of at most `maxPacketBytes`. */
export class AicSender {
  #channel;
  #packetizer;

  /** @param {RTCDataChannel} channel @param {{maxPacketBytes?: number}} [options] */
  constructor(channel, { maxPacketBytes } = {}) {
    if (!loaded) throw codedError('unavailable', 'await AicEncoder/AicDecoder.create() or initAic() first');
    this.#channel = channel;
    this.#packetizer = new Packetizer(maxPacketBytes);
  }

  /** Sends one frame; returns the number of packets sent. */
  send(frameBytes) {
    const packets = this.#packetizer.packetize(toBytes(frameBytes));
    for (const p of packets) this.#channel.send(p);
    return packets.length;
  }
}

/** Receives packets from an RTCDataChannel and calls `onFrame(bytes)` for each complete frame. */
export class AicReceiver {
  #reassembler;
  #onFrame;
  /** Called with each malformed packet's Error (the packet is dropped, nothing else changes). */
  onError = null;

  /** @param {RTCDataChannel} channel @param {(frame: Uint8Array) => void} onFrame */
  constructor(channel, onFrame) {
    if (!loaded) throw codedError('unavailable', 'await AicEncoder/AicDecoder.create() or initAic() first');
    this.#reassembler = new Reassembler();
    this.#onFrame = onFrame;
    if (channel) {
      channel.binaryType = 'arraybuffer';
      channel.addEventListener('message', (ev) => this.push(ev.data));
    }
  }

  /** Feeds one packet (ArrayBuffer or Uint8Array) received by other means. */
  push(packet) {
    try {
      this.#reassembler.push(toBytes(packet), now());
    } catch (e) {
      if (this.onError) this.onError(e);
      return;
    }
    for (let f = this.#reassembler.pollFrame(); f !== undefined; f = this.#reassembler.pollFrame()) {
      this.#onFrame(f);
    }
  }

  /** { completed, dropped, droppedReady, duplicates, stale, rejected } */
  get stats() {
    return this.#reassembler.stats;
  }
}

export { Packetizer, Reassembler, formatVersion, modelInfo };
