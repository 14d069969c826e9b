// The live demo page: camera → AIC encoder (Worker) → AicSender → RTCDataChannel
// (unordered, no retransmits) → AicReceiver → AIC decoder (second Worker) → canvas; beside it
// the same camera track over a VP8 video RTCPeerConnection capped at the same bitrate.
// Stats go to window.aicStats and the page; see index.html for what each number means.
import { initAic, AicSender, AicReceiver, modelInfo } from '/npm/dist/index.js';
import { psnrRgb, ssimLuma, smallLuma, mse } from './metrics.js';
import { Chart } from './chart.js';

const WASM_URL = '/npm/dist/wasm/aic_cpu_bg.wasm';
const WEIGHTS_URL = '/npm/dist/wasm/aic-fp1h.safetensors';
/** bpp of each quality level on the held-out photos (README): to predict the next level's rate. */
const LEVEL_BPP = [0.176, 0.253, 0.334, 0.441, 0.574, 0.703];
const WINDOW_MS = 2000; // rates and means over the last 2 s
const RING_MS = 1500; // captured frames kept to pair with the received VP8 video
const MAX_IN_FLIGHT = 2; // AIC frames sent but not yet decoded (same page: the decoder paces the encoder)

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const settings = {
  kbps: clampKbps(Number(params.get('kbps') ?? 300)),
  res: ['320x240', '640x480'].includes(params.get('res')) ? params.get('res') : '320x240',
  backend: ['auto', 'webgpu', 'cpu'].includes(params.get('backend')) ? params.get('backend') : 'auto',
};

function clampKbps(v) {
  return Number.isFinite(v) ? Math.min(20000, Math.max(20, Math.round(v))) : 300;
}

// ---- state and the public stats object ----------------------------------------------------

const stats = {
  aic: {
    backend: null, backendNote: null, width: 0, height: 0, quality: null, rateControl: null,
    targetKbps: settings.kbps, kbps: null, kbpsMean: null, fps: null, encodeMs: null, decodeMs: null,
    bytesPerFrame: null, bpp: null, ratio: null, psnr: null, ssim: null, psnrMean: null, ssimMean: null, psnrMin: null,
    framesEncoded: 0, framesSent: 0, framesDecoded: 0, packetsSent: 0, rateSkipped: 0, busySkipped: 0,
    lost: 0, decodeErrors: 0, referenceMisses: 0, keyFrameRequests: 0, kind: null, kinds: null, skippedFraction: null, codec: null, receiver: null,
    samples: 0,
  },
  vp8: {
    codec: null, encoder: null, targetKbps: settings.kbps, kbps: null, kbpsMean: null, encoderTargetKbps: null,
    fps: null, width: 0, height: 0, encodeMs: null, decodeMs: null, psnr: null, ssim: null, psnrMean: null, psnrMin: null,
    ssimMean: null, pairLagMs: null, pairing: 'approximate: best-matching captured frame of the last 1.5 s',
    framesDecoded: 0, qualityLimitation: null, samples: 0,
  },
  camera: { width: 0, height: 0, fps: null, frames: 0 },
  firstFrameMs: null,
  model: null,
  errors: [],
};
window.aicStats = stats;

const log = { sent: [], decoded: [], encodeMs: [], skips: [], kinds: [] }; // { t, ... } in the last WINDOW_MS
const sums = { aicPsnr: 0, aicSsim: 0, vp8Psnr: 0, vp8Ssim: 0, bytes: 0, firstSentT: null };

/** Scores one decoded picture against its reference into `path` (stats.aic or stats.vp8). */
function addQualitySample(path, name, refRgba, rgba, width, height, now) {
  path.psnr = psnrRgb(refRgba, rgba);
  path.ssim = ssimLuma(refRgba, rgba, width, height);
  path.samples++;
  sums[`${name}Psnr`] += path.psnr;
  sums[`${name}Ssim`] += path.ssim;
  path.psnrMean = sums[`${name}Psnr`] / path.samples;
  path.ssimMean = sums[`${name}Ssim`] / path.samples;
  path.psnrMin = Math.min(path.psnrMin ?? Infinity, path.psnr);
  path.sampleT = now;
}
let encoderWorker;
let decoderWorker;
let sender;
let receiver;
let aicChannel;
let quality = 3;
let rateControl = false; // the encoder has setTargetBitrate
let rcFps = null; // the frame rate last passed to setTargetBitrate
let lastKeyRequest = -Infinity;
let encoderReady = false;
let decoderReady = false;
let encBusy = false;
let reconfiguring = null;
let lastQualityChange = 0;
const inFlight = new Map(); // timestampUs → sent time (ms)
const aicRefs = new Map(); // timestampUs → { rgba, width, height }: sampled originals
let lastAicSample = -Infinity;
let bucket = 0; // bits the AIC sender may still spend (token bucket, starts empty: no initial burst)
let bucketT = null;
let ring = []; // { t, rgba, width, height, small }
let pool = [];
let captureGen = 0;
let cameraStream = null;
let vp8 = null; // { pcC, pcD, sender }
let frameSeq = 0;
const decodeQueue = [];
let decBusy = false;
const chart = new Chart($('chart'));
const t0 = performance.now();

// ---- small helpers ----------------------------------------------------------------------------

function setStatus(text, error = false) {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', error);
}

function fail(where, e) {
  const message = `${where}: ${e?.message ?? e}`;
  console.error(message, e);
  stats.errors.push(message);
  setStatus(message, true);
}

function prune(list, now) {
  while (list.length && list[0].t < now - WINDOW_MS) list.shift();
}

const fmt = (v, digits = 1, unit = '') => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)}${unit}`);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function link(a, b) {
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
}

async function negotiate(a, b) {
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
}

/** A codec Worker with one outstanding reply per request, in order (the worker is sequential). */
class CodecWorker {
  constructor(role) {
    this.role = role;
    this.waiting = [];
    this.worker = new Worker(new URL('./codec-worker.js', import.meta.url), { type: 'module', name: `aic-${role}` });
    this.worker.onmessage = ({ data }) => {
      const w = this.waiting.shift();
      if (!w) return;
      if (data.type === 'error') {
        const e = new Error(data.message);
        e.code = data.code;
        w.reject(e);
      } else w.resolve(data);
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault?.();
      const e = new Error(`${role} worker: ${ev.message || 'failed to load (is npm/dist built?)'}`);
      for (const w of this.waiting.splice(0)) w.reject(e);
      fail(`${role} worker`, e);
    };
  }

  call(msg, transfer = []) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  tell(msg) {
    this.worker.postMessage(msg);
  }
}

// ---- the codec workers --------------------------------------------------------------------------

/** Frames a second the pipeline is expected to carry before it has been measured. */
function expectedFps() {
  return Math.min(stats.camera.fps || 20, 15); // roughly what the CPU backend sustains at 320×240
}

function initialQuality(width, height) {
  if (rateControl) return 3;
  const fps = expectedFps();
  const bpp = (settings.kbps * 1000) / (fps * width * height);
  let q = 1;
  for (let i = 0; i < LEVEL_BPP.length; i++) if (LEVEL_BPP[i] <= bpp) q = i + 1;
  return q;
}

async function configureEncoder(q) {
  quality = q;
  encoderReady = false;
  rcFps = rcFps ?? expectedFps();
  const r = await encoderWorker
    .call({ type: 'configure', backend: settings.backend, quality: q, targetKbps: settings.kbps, fps: rcFps })
    .catch(async (e) => {
      if (settings.backend === 'cpu') throw e;
      stats.errors.push(`encoder on ${settings.backend}: ${e.message}; using the CPU`);
      return encoderWorker.call({ type: 'configure', backend: 'cpu', quality: q, targetKbps: settings.kbps, fps: rcFps });
    });
  rateControl = r.rateControl;
  stats.aic.backend = r.backend;
  stats.aic.backendNote = r.note;
  stats.aic.quality = q;
  stats.aic.rateControl = rateControl
    ? 'encoder.setTargetBitrate (key and delta frames, quality per frame)'
    : 'demo: quality level from measured kbps + token-bucket frame dropping';
  encoderReady = true;
}

async function configureDecoder() {
  decoderReady = false;
  const r = await decoderWorker.call({ type: 'configure', backend: settings.backend }).catch(async (e) => {
    if (settings.backend === 'cpu') throw e;
    stats.errors.push(`decoder on ${settings.backend}: ${e.message}; using the CPU`);
    return decoderWorker.call({ type: 'configure', backend: 'cpu' });
  });
  stats.aic.decoderBackend = r.backend;
  decoderReady = true;
}

async function startCodecs(module, weights) {
  encoderWorker = new CodecWorker('encoder');
  decoderWorker = new CodecWorker('decoder');
  await Promise.all([
    encoderWorker.call({ type: 'init', role: 'encoder', module, weights }),
    decoderWorker.call({ type: 'init', role: 'decoder', module, weights }),
  ]);
  await Promise.all([configureEncoder(quality), configureDecoder()]);
}

// ---- AIC: data channel between two peers in this page ------------------------------------------

async function startAicLink() {
  const pcA = new RTCPeerConnection();
  const pcB = new RTCPeerConnection();
  link(pcA, pcB);
  aicChannel = pcA.createDataChannel('aic', { ordered: false, maxRetransmits: 0 });
  aicChannel.binaryType = 'arraybuffer';
  const remote = new Promise((ok) => (pcB.ondatachannel = (e) => ok(e.channel)));
  const opened = new Promise((ok) => (aicChannel.onopen = ok));
  await negotiate(pcA, pcB);
  await opened;
  const rx = await remote;
  sender = new AicSender(aicChannel); // packets of at most 16 KiB
  receiver = new AicReceiver(rx, onAicFrame);
  receiver.onError = (e) => stats.errors.push(`receiver: ${e.code ?? ''} ${e.message}`);
}

/** The capture timestamp of an AIC frame: header bytes 28..36, little-endian (docs/format.md §2.2). */
function frameTs(bytes) {
  try {
    return Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(28, true));
  } catch {
    return null;
  }
}

/** A frame is done with (decoded, failed or dropped): it and any older unfinished ones leave the pipeline. */
function settle(ts) {
  if (ts === null) return;
  for (const k of inFlight.keys()) if (k <= ts) inFlight.delete(k);
  for (const k of aicRefs.keys()) if (k < ts) aicRefs.delete(k); // older ones were lost
}

function onAicFrame(bytes) {
  decodeQueue.push(bytes);
  // Only if the decoder fell far behind; a dropped delta frame costs a key-frame request.
  while (decodeQueue.length > 4) settle(frameTs(decodeQueue.shift()));
  pumpDecoder();
}

async function pumpDecoder() {
  if (decBusy || !decoderReady || !decodeQueue.length) return;
  decBusy = true;
  const bytes = decodeQueue.shift();
  const ts = frameTs(bytes);
  try {
    const copy = bytes.slice();
    const r = await decoderWorker.call({ type: 'decode', bytes: copy.buffer }, [copy.buffer]);
    onDecoded(r);
  } catch (e) {
    if (e.code === 'reference_missing') {
      // A delta frame whose reference was lost (unreliable channel, or a frame dropped here):
      // keep showing the last picture and ask the encoder for a key frame.
      stats.aic.referenceMisses++;
      const now = performance.now();
      if (now - lastKeyRequest > 300) {
        lastKeyRequest = now;
        stats.aic.keyFrameRequests++;
        encoderWorker.tell({ type: 'keyframe' });
      }
    } else {
      stats.aic.decodeErrors++;
      stats.errors.push(`decode: ${e.code ?? ''} ${e.message}`);
    }
  } finally {
    settle(ts);
    decBusy = false;
    pumpDecoder();
  }
}

function onDecoded({ data, width, height, stats: s }) {
  const now = performance.now();
  const rgba = new Uint8ClampedArray(data);
  const canvas = $('aic-canvas');
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
  canvas.getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
  const a = stats.aic;
  a.framesDecoded++;
  a.width = width;
  a.height = height;
  a.codec = s.codec;
  if (stats.firstFrameMs === null) {
    stats.firstFrameMs = Math.round(now);
    $('first-frame').textContent =
      `First decoded AIC frame ${(now / 1000).toFixed(2)} s after page load ` +
      '(compiling the wasm module, loading the model in two Workers, opening the camera and both peer connections, one encode and decode).';
  }
  log.decoded.push({ t: now, ms: s.decodeMs });
  const ts = Number(s.timestampUs);
  const ref = aicRefs.get(ts);
  if (ref && ref.width === width && ref.height === height) {
    addQualitySample(a, 'aic', ref.rgba, rgba, width, height, now);
  }
  aicRefs.delete(ts);
}

// ---- camera -----------------------------------------------------------------------------------

async function openCamera() {
  const [w, h] = settings.res.split('x').map(Number);
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: w }, height: { ideal: h }, frameRate: { ideal: 30 } },
    audio: false,
  });
  const old = cameraStream;
  cameraStream = stream;
  const [track] = stream.getVideoTracks();
  const st = track.getSettings();
  stats.camera.width = st.width ?? 0;
  stats.camera.height = st.height ?? 0;
  stats.camera.fps = st.frameRate ?? null;
  $('cam-res').textContent = `${st.width}×${st.height}${st.width !== w || st.height !== h ? `; ${w}×${h} asked` : ''}`;
  $('camera').srcObject = stream;
  if (vp8) await vp8.sender.replaceTrack(track);
  ring = [];
  pool = [];
  aicRefs.clear();
  inFlight.clear();
  startCapture(track.clone(), ++captureGen);
  old?.getTracks().forEach((t) => t.stop());
  return track;
}

function takeBuffer(n) {
  const i = pool.findIndex((b) => b.length === n);
  return i >= 0 ? pool.splice(i, 1)[0] : new Uint8Array(n);
}

async function frameRgba(frame, width, height) {
  const data = takeBuffer(width * height * 4);
  try {
    await frame.copyTo(data, { format: 'RGBA' });
  } catch {
    const c = new OffscreenCanvas(width, height);
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(frame, 0, 0, width, height);
    data.set(ctx.getImageData(0, 0, width, height).data);
  }
  return data;
}

function startCapture(track, gen) {
  if (typeof MediaStreamTrackProcessor === 'function') {
    const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
    (async () => {
      while (gen === captureGen) {
        const { value: frame, done } = await reader.read();
        if (done) break;
        try {
          const width = frame.displayWidth;
          const height = frame.displayHeight;
          const rgba = await frameRgba(frame, width, height);
          onCameraFrame(rgba, width, height, frame.timestamp);
        } catch (e) {
          fail('camera frame', e);
        } finally {
          frame.close();
        }
      }
      track.stop();
      reader.cancel().catch(() => {});
    })();
    return;
  }
  // Without MediaStreamTrackProcessor (Firefox, Safari): draw a <video> per presented frame.
  const video = Object.assign(document.createElement('video'), { muted: true, playsInline: true, srcObject: new MediaStream([track]) });
  video.play();
  const c = new OffscreenCanvas(1, 1);
  const ctx = c.getContext('2d', { willReadFrequently: true });
  const step = (_, meta) => {
    if (gen !== captureGen) {
      track.stop();
      return;
    }
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (c.width !== width || c.height !== height) Object.assign(c, { width, height });
    ctx.drawImage(video, 0, 0);
    const rgba = takeBuffer(width * height * 4);
    rgba.set(ctx.getImageData(0, 0, width, height).data);
    onCameraFrame(rgba, width, height, Math.round((meta?.mediaTime ?? performance.now() / 1000) * 1e6));
    video.requestVideoFrameCallback(step);
  };
  video.requestVideoFrameCallback(step);
}

function onCameraFrame(rgba, width, height, timestampUs) {
  const now = performance.now();
  stats.camera.frames++;
  stats.camera.width = width;
  stats.camera.height = height;
  ring.push({ t: now, rgba, width, height, small: null });
  while (ring.length && ring[0].t < now - RING_MS) pool.push(ring.shift().rgba);
  if (pool.length > 8) pool.length = 8;
  maybeEncode(rgba, width, height, timestampUs, now);
}

// ---- AIC send side: gate, encode, send -------------------------------------------------------

function refillBucket(now) {
  bucketT ??= now;
  const bps = settings.kbps * 1000;
  bucket = Math.min(bps * 0.5, bucket + ((now - bucketT) / 1000) * bps);
  bucketT = now;
}

function maybeEncode(rgba, width, height, timestampUs, now) {
  if (!encoderReady || !sender || reconfiguring) return;
  for (const [ts, sent] of inFlight) if (now - sent > 2000) { inFlight.delete(ts); stats.aic.lost++; }
  if (encBusy || inFlight.size >= MAX_IN_FLIGHT || aicChannel.bufferedAmount > 1 << 20) {
    stats.aic.busySkipped++;
    return;
  }
  refillBucket(now);
  if (!rateControl && bucket < 0) {
    stats.aic.rateSkipped++;
    log.skips.push({ t: now });
    return;
  }
  // Distinct, increasing timestamps (they key the sampled originals).
  const ts = Math.max(Math.round(timestampUs || now * 1000), ++frameSeq);
  frameSeq = ts;
  if (now - lastAicSample >= 1000) {
    lastAicSample = now;
    aicRefs.set(ts, { rgba: rgba.slice(), width, height });
  }
  encBusy = true;
  const copy = rgba.slice();
  encoderWorker
    .call({ type: 'encode', id: ts, data: copy.buffer, width, height, timestampUs: ts }, [copy.buffer])
    .then(({ bytes, stats: s }) => {
      const t = performance.now();
      const a = stats.aic;
      a.framesEncoded++;
      bucket -= bytes.byteLength * 8;
      if (aicChannel.readyState === 'open') {
        a.packetsSent += sender.send(new Uint8Array(bytes));
        a.framesSent++;
        inFlight.set(ts, t);
      }
      if (sums.firstSentT === null) sums.firstSentT = t;
      sums.bytes += bytes.byteLength;
      log.sent.push({ t, bytes: bytes.byteLength, w: s.width, h: s.height });
      log.encodeMs.push({ t, ms: s.encodeMs });
      a.codec = s.codec;
      if (s.kind !== undefined && s.kind !== null) {
        a.kind = s.kind;
        log.kinds.push({ t, kind: s.kind, skipped: s.skippedFraction });
      }
      if (s.quality !== undefined) a.quality = s.quality;
    })
    .catch((e) => {
      aicRefs.delete(ts);
      stats.errors.push(`encode: ${e.code ?? ''} ${e.message}`);
    })
    .finally(() => {
      encBusy = false;
    });
}

/** The demo's rate control when the encoder has none: move one quality level at a time. */
function adjustQuality(now) {
  if (rateControl || reconfiguring || stats.aic.kbps === null || now - lastQualityChange < 2500) return;
  const sent = log.sent.length;
  const skipped = log.skips.length;
  if (sent + skipped < 4) return;
  const skipFrac = skipped / (sent + skipped);
  const kbps = stats.aic.kbps ?? 0;
  let next = quality;
  if (skipFrac > 0.15 && quality > 1) next = quality - 1;
  else if (skipFrac < 0.03 && quality < 6 && kbps * (LEVEL_BPP[quality] / LEVEL_BPP[quality - 1]) < 0.9 * settings.kbps) next = quality + 1;
  if (next === quality) return;
  lastQualityChange = now;
  reconfiguring = configureEncoder(next)
    .catch((e) => fail('encoder', e))
    .finally(() => {
      reconfiguring = null;
    });
}

// ---- VP8: the same camera track over a video RTCPeerConnection --------------------------------

async function startVp8(track) {
  const pcC = new RTCPeerConnection();
  const pcD = new RTCPeerConnection();
  link(pcC, pcD);
  const tx = pcC.addTransceiver(track, { direction: 'sendonly', sendEncodings: [{ maxBitrate: settings.kbps * 1000 }] });
  const caps = RTCRtpReceiver.getCapabilities?.('video') ?? RTCRtpSender.getCapabilities('video');
  const isVp8 = (c) => c.mimeType.toLowerCase() === 'video/vp8';
  if (typeof tx.setCodecPreferences === 'function' && caps) {
    tx.setCodecPreferences([...caps.codecs.filter(isVp8), ...caps.codecs.filter((c) => !isVp8(c))]);
  }
  pcD.ontrack = (e) => {
    $('vp8-video').srcObject = new MediaStream([e.track]);
  };
  await negotiate(pcC, pcD);
  vp8 = { pcC, pcD, sender: tx.sender, prev: [] };
  await capVp8();
}

async function capVp8() {
  if (!vp8) return;
  const p = vp8.sender.getParameters();
  if (!p.encodings?.length) p.encodings = [{}];
  p.encodings[0].maxBitrate = settings.kbps * 1000;
  await vp8.sender.setParameters(p);
  stats.vp8.targetKbps = settings.kbps;
}

async function vp8Tick(now) {
  if (!vp8) return;
  const snap = { t: now };
  const [out, inb] = await Promise.all([vp8.pcC.getStats(), vp8.pcD.getStats()]);
  const codecs = new Map();
  out.forEach((r) => r.type === 'codec' && codecs.set(r.id, r.mimeType));
  out.forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video') {
      snap.bytesSent = r.bytesSent;
      snap.framesEncoded = r.framesEncoded;
      snap.encodeTime = r.totalEncodeTime;
      stats.vp8.encoder = r.encoderImplementation ?? stats.vp8.encoder;
      stats.vp8.codec = codecs.get(r.codecId) ?? stats.vp8.codec;
      stats.vp8.encoderTargetKbps = r.targetBitrate ? r.targetBitrate / 1000 : null;
      stats.vp8.qualityLimitation = r.qualityLimitationReason ?? null;
    }
  });
  inb.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') {
      snap.framesDecoded = r.framesDecoded;
      snap.decodeTime = r.totalDecodeTime;
      snap.bytesReceived = r.bytesReceived;
      stats.vp8.width = r.frameWidth ?? stats.vp8.width;
      stats.vp8.height = r.frameHeight ?? stats.vp8.height;
      stats.vp8.framesDecoded = r.framesDecoded ?? 0;
    }
  });
  vp8.prev.push(snap);
  while (vp8.prev.length > 1 && vp8.prev[0].t < now - WINDOW_MS - 100) vp8.prev.shift();
  const first = vp8.prev[0];
  const dt = (snap.t - first.t) / 1000;
  if (dt > 0.5 && snap.bytesSent !== undefined && first.bytesSent !== undefined) {
    const v = stats.vp8;
    v.kbps = ((snap.bytesSent - first.bytesSent) * 8) / dt / 1000;
    v.fps = (snap.framesDecoded - first.framesDecoded) / dt;
    const enc = snap.framesEncoded - first.framesEncoded;
    const dec = snap.framesDecoded - first.framesDecoded;
    v.encodeMs = enc > 0 ? ((snap.encodeTime - first.encodeTime) * 1000) / enc : null;
    v.decodeMs = dec > 0 ? ((snap.decodeTime - first.decodeTime) * 1000) / dec : null;
  }
  if (snap.bytesSent !== undefined) {
    vp8.firstBytes ??= { t: now, bytes: snap.bytesSent };
    const span = (now - vp8.firstBytes.t) / 1000;
    if (span > 0.5) stats.vp8.kbpsMean = ((snap.bytesSent - vp8.firstBytes.bytes) * 8) / span / 1000;
  }
  sampleVp8Quality(now);
}

const vp8Canvas = new OffscreenCanvas(1, 1);
const vp8Ctx = vp8Canvas.getContext('2d', { willReadFrequently: true });

/** VP8 PSNR/SSIM, approximate: the received picture against the best-matching recent capture. */
function sampleVp8Quality(now) {
  const video = $('vp8-video');
  if (!video.videoWidth || !ring.length || video.readyState < 2) return;
  const { width, height } = ring[ring.length - 1];
  if (vp8Canvas.width !== width || vp8Canvas.height !== height) Object.assign(vp8Canvas, { width, height });
  vp8Ctx.drawImage(video, 0, 0, width, height); // scaled up if WebRTC lowered VP8's resolution
  const got = vp8Ctx.getImageData(0, 0, width, height).data;
  const small = smallLuma(got, width, height);
  let best = null;
  let bestErr = Infinity;
  for (const f of ring) {
    if (f.width !== width || f.height !== height) continue;
    f.small ??= smallLuma(f.rgba, width, height);
    const e = mse(small, f.small);
    if (e < bestErr) {
      bestErr = e;
      best = f;
    }
  }
  if (!best) return;
  const v = stats.vp8;
  v.pairLagMs = Math.round(now - best.t);
  addQualitySample(v, 'vp8', best.rgba, got, width, height, now);
}

// ---- the once-a-second tick: rates, rate control, chart, text ------------------------------------

let lastCam = null;

function aicTick(now) {
  for (const l of Object.values(log)) prune(l, now);
  const a = stats.aic;
  // Rates over a full window only: over a shorter one the first frame's bits would count as
  // if sent in an instant.
  const running = sums.firstSentT !== null && now - sums.firstSentT >= WINDOW_MS;
  const span = WINDOW_MS / 1000;
  if (running && log.sent.length) {
    const bytes = log.sent.reduce((s, x) => s + x.bytes, 0);
    a.kbps = (bytes * 8) / span / 1000;
    a.bytesPerFrame = bytes / log.sent.length;
    const { w, h } = log.sent[log.sent.length - 1];
    a.bpp = (a.bytesPerFrame * 8) / (w * h);
    a.ratio = (w * h * 3) / a.bytesPerFrame;
  } else if (running) {
    a.kbps = 0;
  }
  if (sums.firstSentT !== null && now - sums.firstSentT > 500) a.kbpsMean = (sums.bytes * 8) / (now - sums.firstSentT);
  a.fps = running ? log.decoded.length / span : null;
  a.encodedFps = running ? log.sent.length / span : null;
  a.encodeMs = mean(log.encodeMs.map((x) => x.ms));
  a.decodeMs = mean(log.decoded.map((x) => x.ms).filter(Number.isFinite));
  a.targetKbps = settings.kbps;
  if (log.kinds.length) {
    a.kinds = {};
    for (const { kind } of log.kinds) a.kinds[kind] = (a.kinds[kind] ?? 0) + 1;
    // Fraction of the latent grid a frame kept from its reference (delta frames only).
    a.skippedFraction = mean(log.kinds.filter((k) => k.kind === 'delta').map((k) => k.skipped).filter(Number.isFinite));
  }
  a.receiver = receiver ? { ...receiver.stats } : null;
  const cam = stats.camera;
  if (lastCam) cam.fpsMeasured = ((cam.frames - lastCam.frames) * 1000) / (now - lastCam.t);
  lastCam = { frames: cam.frames, t: now };
}

function row(dl, label, value) {
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = value;
  dl.append(dt, dd);
}

function render() {
  const a = stats.aic;
  const v = stats.vp8;
  const dlA = $('aic-stats');
  dlA.replaceChildren();
  row(dlA, 'bitrate', `${fmt(a.kbps, 1)} kbps (target ${a.targetKbps} kbps; mean since start ${fmt(a.kbpsMean, 1)} kbps)`);
  row(dlA, 'backend', `${a.backend ?? '–'}${a.backendNote ? ` — ${a.backendNote}` : ''}`);
  row(dlA, 'resolution', a.width ? `${a.width}×${a.height}` : '–');
  row(dlA, 'fps (decoded)', `${fmt(a.fps, 1)} (camera ${fmt(stats.camera.fpsMeasured, 1)})`);
  row(dlA, 'encode / decode', `${fmt(a.encodeMs, 1)} / ${fmt(a.decodeMs, 1)} ms per frame (in Workers)`);
  row(dlA, 'frame size', `${fmt(a.bytesPerFrame, 0)} bytes, ${fmt(a.bpp, 3)} bpp, ${fmt(a.ratio, 0)}:1 vs raw RGB`);
  row(dlA, 'PSNR / SSIM', `${fmt(a.psnr, 2)} dB / ${fmt(a.ssim, 4)} (exact pairing; mean ${fmt(a.psnrMean, 2)} dB / ${fmt(a.ssimMean, 4)} over ${a.samples} samples)`);
  const q = Number.isInteger(a.quality) ? String(a.quality) : fmt(a.quality, 2);
  row(dlA, 'rate control', `${a.rateControl ?? '–'}${a.quality ? `; quality ${q} (last frame)` : ''}`);
  if (a.kinds) row(dlA, 'frame kinds (2 s)', Object.entries(a.kinds).map(([k, n]) => `${k} ${n}`).join(', '));
  if (a.skippedFraction !== null) row(dlA, 'skipped', `${fmt(a.skippedFraction * 100, 1)} % of latent positions kept from the reference (delta frames, 2 s mean)`);
  const r = a.receiver;
  row(dlA, 'frames', `${a.framesEncoded} encoded, ${a.framesDecoded} decoded, ${a.rateSkipped} dropped for rate, ${a.busySkipped} camera frames skipped (codec busy)` +
    `${r ? `; reassembly: ${r.completed} complete, ${r.dropped} dropped` : ''}${a.decodeErrors ? `, ${a.decodeErrors} decode errors` : ''}` +
    `${a.referenceMisses ? `; ${a.referenceMisses} delta frames without reference, ${a.keyFrameRequests} key frames asked for` : ''}`);
  const dlV = $('vp8-stats');
  dlV.replaceChildren();
  row(dlV, 'bitrate', `${fmt(v.kbps, 1)} kbps (cap ${v.targetKbps} kbps; encoder target ${fmt(v.encoderTargetKbps, 0)} kbps; mean since start ${fmt(v.kbpsMean, 1)} kbps)`);
  row(dlV, 'codec', `${v.codec ?? '–'}${v.encoder ? ` (${v.encoder})` : ''}`);
  row(dlV, 'resolution', v.width ? `${v.width}×${v.height} received` : '–');
  row(dlV, 'fps (decoded)', fmt(v.fps, 1));
  row(dlV, 'encode / decode', `${fmt(v.encodeMs, 1)} / ${fmt(v.decodeMs, 1)} ms per frame (browser's own)`);
  row(dlV, 'PSNR / SSIM', `≈ ${fmt(v.psnr, 2)} dB / ≈ ${fmt(v.ssim, 4)} (approximate pairing, matched capture ${v.pairLagMs ?? '–'} ms old; mean ${fmt(v.psnrMean, 2)} dB over ${v.samples})`);
  if (v.qualityLimitation && v.qualityLimitation !== 'none') row(dlV, 'limited by', v.qualityLimitation);
  row(dlV, 'frames', `${v.framesDecoded} decoded`);
}

async function tick() {
  try {
    await vp8Tick(performance.now());
  } catch (e) {
    stats.errors.push(`vp8 stats: ${e.message}`);
  }
  // From here on synchronous: window.aicStats and the text change together.
  const now = performance.now();
  aicTick(now);
  adjustQuality(now);
  // The encoder's rate control spends kbps over the frames it is given: tell it the frame rate
  // this pipeline actually encodes (the codec, not the camera, sets it here).
  const encFps = stats.aic.encodedFps;
  if (rateControl && encFps > 0.5 && Math.abs(encFps - rcFps) / rcFps > 0.15 && now - (tick.lastRate ?? 0) > 2000) {
    tick.lastRate = now;
    rcFps = Math.round(encFps * 10) / 10;
    encoderWorker.tell({ type: 'rate', targetKbps: settings.kbps, fps: rcFps });
  }
  chart.push({
    t: (now - t0) / 1000,
    aicKbps: stats.aic.kbps,
    vp8Kbps: stats.vp8.kbps,
    targetKbps: settings.kbps,
    // Only fresh samples: a stalled path leaves a gap rather than a flat line.
    aicPsnr: now - (stats.aic.sampleT ?? -Infinity) < 2000 ? stats.aic.psnr : null,
    vp8Psnr: now - (stats.vp8.sampleT ?? -Infinity) < 2000 ? stats.vp8.psnr : null,
  });
  render();
  if (!$('status').classList.contains('error')) {
    setStatus(stats.aic.framesDecoded ? `running · ${stats.aic.backend} · ${stats.camera.width}×${stats.camera.height}` : 'waiting for the first AIC frame…');
  }
}

// ---- controls ---------------------------------------------------------------------------------

function wireControls() {
  $('kbps').value = settings.kbps;
  $('res').value = settings.res;
  $('backend').value = settings.backend;
  $('kbps').addEventListener('change', async () => {
    settings.kbps = clampKbps(Number($('kbps').value));
    $('kbps').value = settings.kbps;
    stats.aic.targetKbps = settings.kbps;
    if (rateControl) encoderWorker.tell({ type: 'rate', targetKbps: settings.kbps, fps: rcFps ?? expectedFps() });
    lastQualityChange = 0;
    await capVp8().catch((e) => fail('VP8 setParameters', e));
  });
  $('res').addEventListener('change', async () => {
    settings.res = $('res').value;
    try {
      await openCamera();
      if (!rateControl) {
        await (reconfiguring ?? Promise.resolve());
        reconfiguring = configureEncoder(initialQuality(stats.camera.width, stats.camera.height)).finally(() => {
          reconfiguring = null;
        });
      }
    } catch (e) {
      fail('camera', e);
    }
  });
  $('backend').addEventListener('change', async () => {
    settings.backend = $('backend').value;
    await (reconfiguring ?? Promise.resolve());
    reconfiguring = Promise.all([configureEncoder(quality), configureDecoder()])
      .catch((e) => fail('backend', e))
      .finally(() => {
        reconfiguring = null;
      });
  });
}

// ---- start ------------------------------------------------------------------------------------

async function main() {
  wireControls();
  if (!window.crossOriginIsolated) stats.errors.push('page not cross-origin isolated (serve it with demo/serve.mjs)');
  setStatus('loading the AIC module and opening the camera…');
  const modulePromise = WebAssembly.compileStreaming(fetch(WASM_URL)).catch((e) => {
    throw new Error(`cannot load ${WASM_URL} (${e.message}): build the package (bash scripts/demo.sh)`);
  });
  const weightsPromise = fetch(WEIGHTS_URL).then((r) => {
    if (!r.ok) throw new Error(`cannot load ${WEIGHTS_URL} (HTTP ${r.status}): build the package (bash scripts/demo.sh)`);
    return r.arrayBuffer();
  });
  const cameraPromise = openCamera().catch((e) => {
    throw new Error(`camera: ${e.name}: ${e.message}`);
  });
  const [module, weights, camTrack] = await Promise.all([modulePromise, weightsPromise, cameraPromise]);
  await initAic({ cpu: module, weights }); // AicSender/AicReceiver live on this thread
  stats.model = modelInfo();
  quality = initialQuality(stats.camera.width, stats.camera.height);
  setStatus('loading the model in the Workers…');
  await Promise.all([startCodecs(module, weights), startAicLink(), startVp8(camTrack)]);
  setInterval(() => tick().catch((e) => fail('stats', e)), 1000);
  setStatus('waiting for the first AIC frame…');
}

main().catch((e) => fail('start', e));
