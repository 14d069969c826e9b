// The package in Node: the CPU backend, round trips, packets, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AicEncoder,
  AicDecoder,
  AicReceiver,
  AicLiveSender,
  AicLiveReceiver,
  Packetizer,
  RateEstimate,
  Reassembler,
  formatVersion,
  modelInfo,
} from '@auralink/aic';
import { FIXTURE, readPpm, psnr } from './helpers.mjs';

const photo = readPpm(FIXTURE);

async function rejectsWithCode(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Error, `expected an Error, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('auto picks the CPU backend in Node and says why', async () => {
  const enc = await AicEncoder.create({ backend: 'auto' });
  assert.equal(enc.backend, 'cpu');
  assert.match(enc.backendNote, /navigator/);
  assert.equal(formatVersion(), 3);
  assert.match(modelInfo().weightsHash, /^[0-9a-f]{16}$/);
  assert.equal(modelInfo().modelId, 2);
});

test('webgpu in Node is a coded error, not a crash', async () => {
  await rejectsWithCode(AicEncoder.create({ backend: 'webgpu' }), 'unavailable');
  await rejectsWithCode(AicEncoder.create({ backend: 'gpu' }), 'parameter');
  await rejectsWithCode(AicEncoder.create({ backend: 'cpu', quality: 99 }), 'parameter');
});

test('neural round trip on the CPU: small, and close to the photo', async () => {
  const enc = await AicEncoder.create({ backend: 'cpu', quality: 3 });
  const dec = await AicDecoder.create({ backend: 'cpu' });
  const bytes = await enc.encode(photo, { timestampUs: 1234 });
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(enc.lastStats.codec, 'neural');
  assert.equal(enc.lastStats.bytes, bytes.length);
  assert.ok(enc.lastStats.bpp < 1.5, `bpp ${enc.lastStats.bpp}`);
  const out = await dec.decode(bytes);
  assert.equal(out.width, photo.width);
  assert.equal(out.height, photo.height);
  assert.ok(out.data instanceof Uint8ClampedArray);
  const q = psnr(photo, out);
  assert.ok(q > 24, `PSNR ${q.toFixed(2)} dB`);
  assert.equal(dec.lastStats.timestampUs, 1234);
  assert.equal(dec.lastStats.codec, 'neural');
  const l = await dec.latents(bytes);
  assert.ok(l.symbols > 0);
  assert.match(l.crc32, /^[0-9a-f]{8}$/);
});

test('higher quality costs more bits and gives more PSNR', async () => {
  const dec = await AicDecoder.create({ backend: 'cpu' });
  const lo = await AicEncoder.create({ backend: 'cpu', quality: 1 });
  const hi = await AicEncoder.create({ backend: 'cpu', quality: 6 });
  const a = await lo.encode(photo);
  const b = await hi.encode(photo);
  assert.ok(a.length < b.length, `${a.length} vs ${b.length}`);
  assert.ok(psnr(photo, await dec.decode(a)) < psnr(photo, await dec.decode(b)));
});

test('zlib codec is lossless', async () => {
  const enc = await AicEncoder.create({ codec: 'zlib' });
  assert.equal(enc.backend, 'none');
  const dec = await AicDecoder.create({ backend: 'cpu' });
  const out = await dec.decode(await enc.encode(photo));
  assert.deepEqual(new Uint8Array(out.data.buffer), photo.data);
  assert.equal(dec.lastStats.codec, 'zlib');
});

test('bad bytes give coded Errors and the next frame still decodes', async () => {
  const enc = await AicEncoder.create({ backend: 'cpu', quality: 2 });
  const dec = await AicDecoder.create({ backend: 'cpu' });
  const good = await enc.encode(photo);
  const first = await dec.decode(good);
  await rejectsWithCode(dec.decode(good.subarray(0, 30)), 'format.truncated');
  const flipped = good.slice();
  flipped[good.length - 20] ^= 0x40;
  await rejectsWithCode(dec.decode(flipped), 'format.bad_checksum');
  await rejectsWithCode(dec.decode(new Uint8Array(100)), 'format.bad_magic');
  await assert.rejects(dec.decode('not bytes'), (e) => e.code === 'parameter');
  const again = await dec.decode(good);
  assert.deepEqual(again.data, first.data);
});

test('bad frames give coded Errors and the encoder goes on', async () => {
  const enc = await AicEncoder.create({ backend: 'cpu', quality: 2 });
  await rejectsWithCode(enc.encode({ data: new Uint8Array(10), width: 4, height: 4 }), 'parameter');
  await rejectsWithCode(enc.encode({ data: new Uint8Array(0), width: 0, height: 0 }), 'parameter');
  await assert.rejects(enc.encode(42), (e) => e.code === 'parameter');
  const bytes = await enc.encode(photo);
  assert.equal(enc.lastStats.codec, 'neural');
  assert.ok(bytes.length > 40);
});

test('concurrent calls are queued, not refused', async () => {
  const enc = await AicEncoder.create({ backend: 'cpu', quality: 1 });
  const dec = await AicDecoder.create({ backend: 'cpu' });
  const all = await Promise.all([enc.encode(photo), enc.encode(photo), enc.encode(photo)]);
  const seqs = [];
  for (const bytes of all) {
    await dec.decode(bytes);
    seqs.push(dec.lastStats.seq);
  }
  assert.deepEqual(seqs, [0, 1, 2]);
});

test('packets: shuffled, duplicated and with junk, the frame comes back whole', async () => {
  const enc = await AicEncoder.create({ codec: 'zlib' });
  const frame = await enc.encode(photo);
  const packets = new Packetizer(1200).packetize(frame);
  assert.ok(packets.length > 10);
  assert.ok(packets.every((p) => p.length <= 1200));
  const order = [...packets.keys()].reverse();
  order.splice(3, 0, 5, 7);
  const got = [];
  const rx = new AicReceiver(null, (f) => got.push(f));
  const errors = [];
  rx.onError = (e) => errors.push(e.code);
  rx.push(new Uint8Array([0x41, 0x50, 1, 2]));
  for (const i of order) rx.push(packets[i]);
  assert.deepEqual(errors, ['format.truncated']);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], frame);
  assert.equal(rx.stats.duplicates, 2);
  assert.equal(rx.stats.completed, 1);
  const r = new Reassembler();
  assert.throws(() => r.push(new Uint8Array(3), 0), (e) => e.code === 'format.truncated');
  assert.throws(() => new Packetizer(10), (e) => e.code === 'parameter');
});

test('frames above the neural size limit: refused by neural, sent losslessly by auto', async () => {
  const big = { data: new Uint8Array(3856 * 2160 * 4).fill(90), width: 3856, height: 2160 };
  const neural = await AicEncoder.create({ backend: 'cpu', codec: 'neural' });
  await rejectsWithCode(neural.encode(big), 'limits_exceeded');
  const auto = await AicEncoder.create({ backend: 'cpu', codec: 'auto' });
  await auto.encode(big);
  assert.equal(auto.lastStats.codec, 'zlib');
  assert.match(auto.lastStats.fallbackReason, /limit/);
  assert.equal((await neural.encode(photo)).length > 40, true);
});

test('live video: setTargetBitrate gives key then delta frames that decode in order', async () => {
  const enc = await AicEncoder.create({ backend: 'cpu', quality: 3 });
  await enc.setTargetBitrate(300, 10);
  const dec = await AicDecoder.create({ backend: 'cpu' });
  const frames = [];
  for (let i = 0; i < 6; i++) {
    // The photo, shifted by i pixels: a pan.
    const data = new Uint8ClampedArray(photo.data.length);
    const { width, height } = photo;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const sx = Math.min(width - 1, x + i);
        for (let c = 0; c < 4; c++) data[(y * width + x) * 4 + c] = photo.data[(y * width + sx) * 4 + c];
      }
    }
    const bytes = await enc.encode({ data, width, height }, { timestampUs: i * 100_000 });
    frames.push({ bytes, kind: enc.lastStats.kind, original: { data, width, height } });
  }
  assert.equal(frames[0].kind, 'key');
  assert.ok(frames.slice(1).every((f) => f.kind === 'delta'), frames.map((f) => f.kind).join());
  // A delta frame without its reference is refused with a typed error, and changes nothing.
  const fresh = await AicDecoder.create({ backend: 'cpu' });
  await rejectsWithCode(fresh.decode(frames[1].bytes), 'reference_missing');
  for (const f of frames) {
    const out = await dec.decode(f.bytes);
    assert.equal(dec.lastStats.kind, f.kind);
    assert.ok(psnr(f.original, out) > 25, `PSNR ${psnr(f.original, out)}`);
  }
  await enc.requestKeyFrame();
  await enc.encode(frames[0].original, { timestampUs: 700_000 });
  assert.equal(enc.lastStats.kind, 'key');
});

/** A shifted copy of the photo: frame `i` of a slow pan. */
function pan(i) {
  const { width, height } = photo;
  const data = new Uint8ClampedArray(photo.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = Math.min(width - 1, x + i);
      for (let c = 0; c < 4; c++) data[(y * width + x) * 4 + c] = photo.data[(y * width + sx) * 4 + c];
    }
  }
  return { data, width, height };
}

test('dropLastFrame rolls the encoder back: the next frame decodes against what was sent', async () => {
  const enc = await AicEncoder.create({ backend: 'cpu' });
  await enc.setTargetBitrate(300, 10);
  const dec = await AicDecoder.create({ backend: 'cpu' });
  await dec.decode(await enc.encode(pan(0), { timestampUs: 0 }));
  const unsent = await enc.encode(pan(1), { timestampUs: 100_000 });
  assert.equal(await enc.dropLastFrame(), true);
  assert.equal(await enc.dropLastFrame(), false, 'only the last frame can be undone');
  const next = await enc.encode(pan(2), { timestampUs: 200_000 });
  // Same sequence number as the dropped frame (little-endian u32 at byte 24), and it decodes.
  const seq = (b) => new DataView(b.buffer, b.byteOffset).getUint32(24, true);
  assert.equal(seq(next), seq(unsent));
  assert.equal(enc.lastStats.kind, 'delta');
  const out = await dec.decode(next);
  assert.ok(psnr(pan(2), out) > 25, `PSNR ${psnr(pan(2), out)}`);
});

test('RateEstimate: feedback parsed by the core, estimate within the cap, bad bytes refused', () => {
  const est = new RateEstimate(300, 50);
  assert.equal(est.kbps, 300);
  // A key-frame request (docs/format.md §10.1): "AF", version 1, kind 1, then 8 bytes.
  const request = new Uint8Array([0x41, 0x46, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual({ ...est.onFeedback(request) }, { kind: 'keyFrameRequest' });
  assert.ok(est.onOveruse() < 300);
  assert.throws(() => est.onFeedback(new Uint8Array([1, 2, 3])), (e) => typeof e.code === 'string');
  assert.throws(() => new RateEstimate(0, 50), (e) => e.code === 'parameter');
});

/**
 * A stand-in RTCDataChannel (Node has no WebRTC). Alone, what is sent stays in `sent` and the
 * test sets `bufferedAmount`; with a `peer`, each message reaches it 5 ms later unless `drop()`
 * says the path loses it.
 */
class StandInChannel extends EventTarget {
  readyState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'blob';
  sent = [];
  peer = null;
  drop = () => false;
  send(p) {
    if (!this.peer) {
      this.sent.push(p);
      return;
    }
    if (this.drop()) return;
    const data = (p.buffer ?? p).slice(p.byteOffset ?? 0, (p.byteOffset ?? 0) + p.byteLength);
    setTimeout(() => {
      const ev = new Event('message');
      ev.data = data;
      this.peer.dispatchEvent(ev);
    }, 5);
  }
}

test('AicLiveSender paces on bufferedAmount and drops a frame the channel had no room for', async () => {
  // A channel whose buffer the test controls: what is sent stays in `sent`.
  const ch = new StandInChannel();
  const enc = await AicEncoder.create({ backend: 'cpu' });
  const sender = new AicLiveSender(ch, enc, { maxKbps: 300, fps: 10 });
  await sender.start();
  await sender.push(pan(0), { timestampUs: 0 });
  assert.equal(ch.sent.length, 1, 'an empty channel takes the frame at once');
  ch.bufferedAmount = 1 << 20; // the channel is behind
  await sender.push(pan(1), { timestampUs: 100_000 });
  assert.equal(ch.sent.length, 1, 'nothing more while the channel is full');
  await sender.push(pan(2), { timestampUs: 200_000 });
  assert.equal(sender.stats.framesDropped, 1, 'the unsent frame was dropped');
  assert.ok(sender.stats.estimateKbps < 300, 'and the estimate stepped down');
  ch.bufferedAmount = 0;
  ch.dispatchEvent(new Event('bufferedamountlow'));
  assert.equal(ch.sent.length, 2);
  // What went out decodes in order: frame 0, then frame 2 coded against frame 0.
  const dec = await AicDecoder.create({ backend: 'cpu' });
  const r = new Reassembler();
  for (const p of ch.sent) r.push(p, 0);
  const frames = [];
  for (let f = r.pollFrame(); f !== undefined; f = r.pollFrame()) frames.push(f);
  assert.equal(frames.length, 2);
  await dec.decode(frames[0]);
  const out = await dec.decode(frames[1]);
  assert.ok(psnr(pan(2), out) > 25, `PSNR ${psnr(pan(2), out)}`);
});

test('AicLiveReceiver over a lossy channel: holds, asks for a key frame, recovers, never shows a broken frame', async () => {
  // Two connected ends (the browser tests use real ones): the forward path loses the packets
  // of frames 8–11, the feedback path loses nothing.
  const [a, b] = [new StandInChannel(), new StandInChannel()];
  [a.peer, b.peer] = [b, a];
  let frame = 0;
  a.drop = () => frame >= 8 && frame <= 11;
  const enc = await AicEncoder.create({ backend: 'cpu' });
  const sender = new AicLiveSender(a, enc, { maxKbps: 400, fps: 10, maxPacketBytes: 600 });
  const shown = [];
  const receiver = await AicLiveReceiver.create(b, (image, info) => shown.push({ ...info, psnr: psnr(pan(info.seq), image) }));
  await sender.start();
  try {
    for (; frame < 30; frame++) {
      await sender.push(pan(frame), { timestampUs: Math.round(performance.now() * 1000) });
      await new Promise((ok) => setTimeout(ok, 60));
    }
    await new Promise((ok) => setTimeout(ok, 300));
  } finally {
    receiver.close();
  }
  const s = receiver.stats;
  assert.ok(s.lost + s.noReference > 0, `the loss was seen: ${JSON.stringify(s)}`);
  assert.ok(sender.stats.keyRequests > 0, 'the receiver asked for a key frame');
  assert.ok(sender.stats.reports > 0, 'and sent receiver reports');
  const after = shown.filter((f) => f.seq > 12);
  assert.ok(after.some((f) => f.kind === 'key'), 'a key frame came after the loss');
  assert.ok(after.length >= 12, `shown after the loss: ${after.length}`);
  // Every picture shown is the frame it claims to be (a broken reference would not be).
  for (const f of shown) assert.ok(f.psnr > 24, `frame ${f.seq}: PSNR ${f.psnr.toFixed(1)} dB`);
  assert.equal(s.corrupt, 0);
});

test('AicLiveSender: the core sender steps down over its latency budget, and says so per frame', async () => {
  const ch = new StandInChannel();
  // A 1 ms budget no CPU meets: the refinement layer off, then half resolution.
  const sender = await AicLiveSender.create(ch, { backend: 'cpu', maxKbps: 300, fps: 10, latencyBudgetMs: 1 });
  assert.equal(sender.backend, 'cpu');
  const modes = [];
  for (let i = 0; i < 8; i++) {
    await sender.push(pan(i), { timestampUs: i * 100_000 });
    modes.push(sender.lastStats.latencyMode);
  }
  assert.equal(sender.stats.latencyMode, 'half_resolution', `modes: ${modes}`);
  assert.equal(sender.stats.latencySwitches, 2);
  assert.equal(sender.lastStats.half, true);
  assert.ok(sender.lastStats.encodeMs > 0 && sender.lastStats.width === pan(0).width);
  // Half-resolution frames still decode to the full size.
  const dec = await AicDecoder.create({ backend: 'cpu' });
  const r = new Reassembler();
  for (const p of ch.sent) r.push(p, 0);
  let last;
  for (let f = r.pollFrame(); f !== undefined; f = r.pollFrame()) last = await dec.decode(f);
  assert.equal(last.width, pan(0).width);
  await assert.rejects(sender.setMaxKbps(-1), (e) => e.code === 'parameter');
});
