// The public API over the wasm modules (crates/wasm): AicEncoder, AicDecoder, packets.
// Shared by the browser entry (index.js) and the Node entry (node.js), which differ only in
// how the files are fetched.
//
// Two modules and one weights file (docs/browser.md):
// - the CPU module (Burn's Flex, SIMD128), which every page loads with `initAic()`; it also
//   holds the packetizer, reassembler, rate estimate and live receiver. In a cross-origin
//   isolated Worker it is the threaded build (`aic_cpu_mt`: Flex's conv and gemm on a rayon
//   pool of Workers, wasm-bindgen-rayon); elsewhere, or if that fails, the one-thread build;
// - the WebGPU module, fetched only when an encoder or decoder runs on WebGPU: `backend:
//   'webgpu'`, or `'auto'` where `navigator.gpu.requestAdapter()` gives a hardware adapter
//   (a fallback one, such as SwiftShader, is slower than the CPU module);
// - the weights (`aic-fp1h.safetensors`, float16), fetched once in parallel with the CPU
//   module and handed to each module; the browser's HTTP cache keeps them.
import { toRgba, toBytes, codedError } from './frames.js';

/** The weights file, beside the modules. */
export const WEIGHTS_FILE = 'aic-fp1h.safetensors';

let ready = null;
let loaded = false;
/** The CPU module's glue in use (aic_cpu.js or aic_cpu_mt.js), once loaded. */
let cpu = null;
let threads = 0;
let threadsNote = null;
let weights = null;
let gpuSource;
let gpuModule = null;
let adapterCheck = null;
const defaults = {
  cpu: async () => undefined,
  cpuThreads: async () => undefined,
  webgpu: async () => undefined,
  weights: async () => new URL(`./wasm/${WEIGHTS_FILE}`, import.meta.url),
};

/** @internal The entry point says where the files are by default. */
export function setDefaultSources(sources) {
  Object.assign(defaults, sources);
}

function isOptions(x) {
  return x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype && !('module_or_path' in x);
}

/** Bytes from a URL, string, Response, ArrayBuffer or typed array. */
async function bytesOf(source, what) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  const response = source instanceof Response ? source : await fetch(source);
  if (!response.ok) throw codedError('unavailable', `${what}: HTTP ${response.status} for ${response.url}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** How many threads the CPU module should use here: 0 for the one-thread build. */
function wantedThreads(o) {
  if (o.threads === false || o.threads === 0) return 0;
  const inWorker = typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope;
  // Rayon blocks the calling thread (Atomics.wait), which a page's main thread may not do;
  // shared memory needs cross-origin isolation (COOP/COEP).
  if (!inWorker || !globalThis.crossOriginIsolated) return 0;
  const n = typeof o.threads === 'number' ? o.threads : (globalThis.navigator?.hardwareConcurrency ?? 1);
  return n > 1 ? Math.min(n, 16) : 0;
}

/** Loads the CPU module: the threaded build when `n` > 0 and it starts, else the one-thread one. */
async function loadCpu(o, n) {
  if (n > 0) {
    try {
      // Not a static specifier: bundlers leave the threaded build (and its Worker snippet)
      // alone; served as the package ships it, it loads, else the one-thread build does.
      const glue = await import(/* @vite-ignore */ new URL('./wasm/aic_cpu_mt.js', import.meta.url).href);
      const source = o.cpuThreads ?? (await defaults.cpuThreads());
      await glue.default(source === undefined ? undefined : { module_or_path: source });
      await glue.initThreadPool(n);
      return { glue, threads: n };
    } catch (e) {
      threadsNote = `the threaded CPU module did not start (${e?.message ?? e}): one thread`;
    }
  }
  const glue = await import('./wasm/aic_cpu.js');
  const source = o.cpu ?? (await defaults.cpu());
  await glue.default(source === undefined ? undefined : { module_or_path: source });
  return { glue, threads: 0 };
}

/**
 * Loads the CPU module and the weights once (in parallel). Called by every `create`; call it
 * yourself to say where the files are: `initAic({ cpu, cpuThreads, webgpu, weights })`, each a
 * URL, Response or bytes (modules also a WebAssembly.Module), or to set `threads` (a number,
 * or false for one thread; the default is every core, in a cross-origin-isolated Worker only).
 * A single argument that is not such an object is the CPU module's location.
 */
export function initAic(options) {
  if (!ready) {
    const o = options === undefined ? {} : isOptions(options) ? options : { cpu: options };
    ready = (async () => {
      const [bytes, loadedCpu] = await Promise.all([
        (async () => bytesOf(o.weights ?? (await defaults.weights()), 'weights'))(),
        loadCpu(o, wantedThreads(o)),
      ]);
      loadedCpu.glue.setWeights(bytes);
      ({ glue: cpu, threads } = loadedCpu);
      weights = bytes;
      gpuSource = o.webgpu;
      loaded = true;
    })();
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

/** The CPU module's glue; a coded Error before initAic() has finished. */
function cpuGlue() {
  if (!cpu) throw codedError('unavailable', 'await initAic() (or any create) first');
  return cpu;
}

/**
 * Threads the CPU module runs the model on: 0 for the one-thread build, else the size of its
 * pool; `note` says why there are none where threads were wanted.
 */
export function cpuThreads() {
  return { threads, note: threadsNote };
}

/** The WebGPU module, fetched and given the weights on first use. */
function webgpuModule() {
  if (!gpuModule) {
    gpuModule = (async () => {
      await initAic();
      try {
        const glue = await import('./wasm/aic_webgpu.js');
        const source = gpuSource ?? (await defaults.webgpu());
        await glue.default(source === undefined ? undefined : { module_or_path: source });
        glue.setWeights(weights);
        return glue;
      } catch (e) {
        throw e?.code ? e : codedError('unavailable', `the WebGPU module did not load: ${e?.message ?? e}`);
      }
    })();
    gpuModule.catch(() => {
      gpuModule = null;
    });
  }
  return gpuModule;
}

/** Why this environment should not use the WebGPU module, or null when it should. */
function noHardwareAdapter() {
  adapterCheck ??= (async () => {
    const gpu = globalThis.navigator?.gpu;
    if (!gpu) return 'navigator.gpu is missing (no WebGPU in this environment)';
    let adapter;
    try {
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    } catch (e) {
      return `requestAdapter failed: ${e?.message ?? e}`;
    }
    if (!adapter) return 'navigator.gpu.requestAdapter() gave no adapter';
    const info = adapter.info ?? {};
    const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`.trim();
    // Software rasterisers that do not say they are a fallback adapter still are one.
    if (info.isFallbackAdapter || adapter.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(text)) {
      return `the WebGPU adapter is a fallback one (${text || 'software'}): the CPU module is faster`;
    }
    return null;
  })();
  return adapterCheck;
}

/**
 * The module and backend for a requested backend: { glue, backend, note }. 'auto' takes the
 * WebGPU module only on a hardware adapter, and the CPU module when that fails (`note` says
 * why). Unknown names go to the CPU module, which rejects them with a coded Error.
 */
async function pick(backend) {
  await initAic();
  if (backend === 'webgpu') return { glue: await webgpuModule(), backend, note: null };
  if (backend !== 'auto') return { glue: cpu, backend, note: null };
  let note = await noHardwareAdapter();
  if (note === null) {
    try {
      return { glue: await webgpuModule(), backend: 'webgpu', note: null, fallback: true };
    } catch (e) {
      note = e?.message ?? String(e);
    }
  }
  return { glue: cpu, backend: 'cpu', note };
}

/** Creates a wasm object on the picked module, falling back to the CPU one for 'auto'. */
async function createOn(backend, make) {
  const p = await pick(String(backend));
  try {
    return { inner: await make(p.glue, p.backend), note: p.note };
  } catch (e) {
    if (!p.fallback) throw e;
    const note = `WebGPU failed: ${e?.message ?? e}`;
    return { inner: await make(cpu, 'cpu'), note };
  }
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
  #note;
  #serial = new Serial();
  /** Stats of the last frame: { bytes, bpp, encodeMs, backend, codec, quality, fallbackReason, width, height }. */
  lastStats = null;

  constructor(inner, note = null) {
    this.#inner = inner;
    this.#note = note;
  }

  /**
   * @param {{backend?: 'auto'|'webgpu'|'cpu', quality?: number, codec?: 'auto'|'neural'|'zlib'}} [options]
   */
  static async create({ backend = 'auto', quality = 3, codec = 'auto' } = {}) {
    if (codec === 'zlib') {
      await initAic();
      return new AicEncoder(await cpu.WasmEncoder.create('cpu', 'zlib', quality));
    }
    const { inner, note } = await createOn(backend, (glue, b) => glue.WasmEncoder.create(b, String(codec), quality));
    return new AicEncoder(inner, note);
  }

  /** The backend the model runs on: 'webgpu', 'cpu' (or 'none' for codec 'zlib'). */
  get backend() {
    return this.#inner.backend;
  }

  /** Why 'auto' did not get WebGPU, if it did not. */
  get backendNote() {
    return this.#note ?? this.#inner.backendNote ?? null;
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

  /**
   * Undoes the last live-video frame (the encoder returns to the state before it), for a frame
   * none of whose bytes were sent. Resolves to whether there was one to undo.
   */
  dropLastFrame() {
    return this.#serial.run(async () => this.#inner.dropLastFrame());
  }

  /** Frees the wasm memory now (otherwise the garbage collector does). */
  free() {
    this.#inner.free();
  }
}

/**
 * Live video over an unreliable RTCDataChannel, paced, on the core's sender
 * (`aic_core::session::Sender`, in wasm): the rate controller picks each frame's quality; the
 * sender takes packets only while the channel holds less than two frames (`bufferedAmount`),
 * and when the next frame comes while the previous one has not started to go out, drops that
 * frame and rolls its encoder back, so the channel never builds up delay and the receiver can
 * always decode. It reads the receiver's feedback on the same channel (docs/format.md §10):
 * key-frame requests (served at most every 500 ms) and receiver reports, which drive the
 * bandwidth estimate and so the target, never above `maxKbps`. With `latencyBudgetMs`, an
 * encoder over budget turns the refinement layer off, then codes at half resolution.
 *
 * It encodes with its own video encoder on the model `encoder` uses (its backend).
 */
export class AicLiveSender {
  #channel;
  #backend;
  #options;
  #inner = null;
  #starting = null;
  #serial = new Serial();
  /** { framesSent, framesDropped, packetsSent, keyRequests, reports, estimateKbps, latencyMode, latencySwitches } */
  stats = {
    framesSent: 0, framesDropped: 0, packetsSent: 0, keyRequests: 0, reports: 0, estimateKbps: 0,
    latencyMode: 'full', latencySwitches: 0,
  };
  /** The last frame: { kind, step, bytes, encodeMs, updatedFraction, refined, half, latencyMode, width, height }. */
  lastStats = null;

  /**
   * @param {RTCDataChannel} channel an open channel (`ordered: false, maxRetransmits: 0`)
   * @param {AicEncoder|{backend: 'webgpu'|'cpu'|'auto'}} encoder gives the backend
   * @param {{maxKbps?: number, minKbps?: number, fps?: number, maxPacketBytes?: number, latencyBudgetMs?: number}} [options]
   */
  constructor(channel, encoder, { maxKbps = 500, minKbps = 50, fps = 25, maxPacketBytes = 0, latencyBudgetMs = 0 } = {}) {
    if (!loaded) throw codedError('unavailable', 'await AicEncoder.create() or initAic() first');
    this.#channel = channel;
    this.#backend = ['webgpu', 'cpu', 'auto'].includes(encoder?.backend) ? encoder.backend : 'cpu';
    this.#options = [Number(maxKbps), Number(minKbps), Number(fps), Number(maxPacketBytes) || 0, Number(latencyBudgetMs) || 0];
    this.stats.estimateKbps = Number(maxKbps);
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = Math.max(1200, Math.round((2 * maxKbps * 125) / fps));
    channel.addEventListener('bufferedamountlow', () => this.#pump());
    channel.addEventListener('message', (ev) => this.#onFeedback(ev.data));
  }

  /** A sender on `backend` ('auto', 'webgpu' or 'cpu'), started. */
  static async create(channel, { backend = 'auto', ...options } = {}) {
    await initAic();
    const sender = new AicLiveSender(channel, { backend }, options);
    await sender.start();
    return sender;
  }

  /** Loads the sender's model (push does it too); call it early to keep it off the first frame. */
  start() {
    this.#starting ??= (async () => {
      const { inner } = await createOn(this.#backend, (glue, b) => glue.WasmSender.create(b, ...this.#options));
      this.#inner = inner;
      this.#refresh();
    })();
    this.#starting.catch(() => {
      this.#starting = null;
    });
    return this.#starting;
  }

  /** The backend the sender encodes on, once started. */
  get backend() {
    return this.#inner?.backend ?? null;
  }

  #refresh() {
    const s = this.#inner?.stats;
    if (!s) return; // encoding: the next refresh catches up
    Object.assign(this.stats, {
      framesDropped: s.framesDropped, keyRequests: s.keyRequests, estimateKbps: s.estimateKbps,
      latencyMode: s.latencyMode, latencySwitches: s.latencySwitches,
    });
    this.#channel.bufferedAmountLowThreshold = this.#inner.lowWaterBytes;
  }

  #onFeedback(data) {
    if (!this.#inner) return;
    let kind;
    try {
      kind = this.#inner.handleFeedback(toBytes(data), now());
    } catch {
      return; // not feedback: ignored
    }
    if (kind === 'report') this.stats.reports += 1;
    this.#refresh();
  }

  /** Sends packets while the channel has room (during an encode too: the started frame's). */
  #pump() {
    if (!this.#inner) return;
    const low = this.#inner.lowWaterBytes;
    while (this.#channel.readyState === 'open' && this.#channel.bufferedAmount < low) {
      const p = this.#inner.pollTransmit();
      if (!p) return;
      this.#channel.send(p);
      this.stats.packetsSent += 1;
    }
  }

  /**
   * Encodes `frame` (anything AicEncoder.encode takes) captured at `timestampUs` (default:
   * the frame's own, else now) and sends it, paced. Resolves to the AIC frame bytes.
   */
  push(frame, { timestampUs } = {}) {
    return this.#serial.run(async () => {
      await this.start();
      const t0 = now();
      const f = await toRgba(frame);
      const ts = timestampUs ?? f.timestampUs ?? Math.round(now() * 1000);
      const bytes = await this.#inner.push(f.data, f.width, f.height, ts / 1000);
      const encodeMs = now() - t0;
      this.#inner.onEncodeTime(encodeMs);
      this.lastStats = { ...this.#inner.lastFrame, encodeMs, width: f.width, height: f.height };
      this.stats.framesSent += 1;
      this.#refresh();
      this.#pump();
      return bytes;
    });
  }

  /** Sets the application's cap, kbps (the estimate follows it down at once). */
  setMaxKbps(kbps) {
    return this.#serial.run(async () => {
      await this.start();
      this.#inner.setMaxKbps(Number(kbps));
      this.#refresh();
    });
  }

  /** Frees the wasm memory now (otherwise the garbage collector does). */
  free() {
    this.#inner?.free();
  }
}

/** Decodes AIC frames of every codec to RGBA. */
export class AicDecoder {
  #inner;
  #note;
  #serial = new Serial();
  /** Stats of the last frame: { bytes, decodeMs, backend, codec, quality, seq, timestampUs, width, height }. */
  lastStats = null;

  constructor(inner, note = null) {
    this.#inner = inner;
    this.#note = note;
  }

  /** @param {{backend?: 'auto'|'webgpu'|'cpu'}} [options] */
  static async create({ backend = 'auto' } = {}) {
    const { inner, note } = await createOn(backend, (glue, b) => glue.WasmDecoder.create(b));
    return new AicDecoder(inner, note);
  }

  /** The backend the model runs on: 'webgpu' or 'cpu'. */
  get backend() {
    return this.#inner.backend;
  }

  /** Why 'auto' did not get WebGPU, if it did not. */
  get backendNote() {
    return this.#note ?? this.#inner.backendNote ?? null;
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
    this.#packetizer = new (cpuGlue().Packetizer)(maxPacketBytes);
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
    this.#reassembler = new (cpuGlue().Reassembler)();
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

/** How often a live receiver advances its clock without packets, ms. */
const RECEIVER_TICK_MS = 20;

/**
 * The receiving end of AicLiveSender: the core's live-video receiver (in the CPU module) on an
 * RTCDataChannel. It reassembles and reorders packets, decodes in order, holds the last good
 * picture while a frame is missing, refuses a delta frame whose reference it lost and asks for
 * a key frame (rate-limited), drops frames that would be shown later than `deadlineMs` after
 * capture, and sends receiver reports back on the same channel (docs/format.md §10), which
 * drive the sender's bandwidth estimate.
 */
export class AicLiveReceiver {
  #inner;
  #channel;
  #onFrame;
  #timer;
  /** Called with every event: { type: 'show'|'drop'|'lost', ... } (see WasmReceiver.pollEvent). */
  onEvent = null;
  /** Called with each malformed packet's Error (the packet is dropped, nothing else changes). */
  onError = null;
  /** { shown, late, noReference, corrupt, lost, feedbackSent, lastDelayMs } */
  stats = { shown: 0, late: 0, noReference: 0, corrupt: 0, lost: 0, feedbackSent: 0, lastDelayMs: null };

  constructor(inner, channel, onFrame) {
    this.#inner = inner;
    this.#channel = channel;
    this.#onFrame = onFrame;
    if (channel) {
      channel.binaryType = 'arraybuffer';
      channel.addEventListener('message', (ev) => this.push(ev.data));
      this.#timer = setInterval(() => this.tick(), RECEIVER_TICK_MS);
    }
  }

  /**
   * @param {RTCDataChannel|null} channel the channel the sender's packets arrive on, and feedback
   *   leaves on (null: call push() and tick() yourself and send `onFeedback`'s bytes)
   * @param {(image: ImageData|{data, width, height}, info: {seq, kind, delayMs, timestampUs}) => void} onFrame
   * @param {{deadlineMs?: number}} [options]
   */
  static async create(channel, onFrame, { deadlineMs = 400 } = {}) {
    await initAic();
    return new AicLiveReceiver(await cpu.WasmReceiver.create(Number(deadlineMs)), channel, onFrame);
  }

  /** Whether the receiver waits for a key frame. */
  get broken() {
    return this.#inner.broken;
  }

  /** Called with each feedback message when there is no channel to send it on. */
  onFeedback = null;

  /** Feeds one packet (ArrayBuffer or Uint8Array). */
  push(packet) {
    try {
      this.#inner.handlePacket(toBytes(packet), now());
    } catch (e) {
      if (this.onError) this.onError(e);
      return;
    }
    this.#drain();
  }

  /** Advances the clock (the channel's receiver does this every 20 ms by itself). */
  tick() {
    this.#inner.handleTimeout(now());
    this.#drain();
  }

  #drain() {
    for (let e = this.#inner.pollEvent(); e !== undefined; e = this.#inner.pollEvent()) {
      if (e.type === 'show') {
        this.stats.shown += 1;
        this.stats.lastDelayMs = e.delayMs;
        const image =
          typeof ImageData !== 'undefined'
            ? new ImageData(e.data, e.width, e.height)
            : { data: e.data, width: e.width, height: e.height };
        this.#onFrame?.(image, { seq: e.seq, kind: e.kind, delayMs: e.delayMs, timestampUs: e.timestampUs });
      } else if (e.type === 'drop') {
        this.stats[e.reason] += 1;
      } else if (e.type === 'lost') {
        this.stats.lost += e.count;
      }
      this.onEvent?.(e);
    }
    for (let f = this.#inner.pollFeedback(now()); f !== undefined; f = this.#inner.pollFeedback(now())) {
      this.stats.feedbackSent += 1;
      if (this.#channel?.readyState === 'open') this.#channel.send(f);
      else this.onFeedback?.(f);
    }
  }

  /** Stops the clock and frees the wasm memory. */
  close() {
    clearInterval(this.#timer);
    this.#inner.free();
  }
}

// The CPU module's helpers, from whichever build initAic loaded (a wrapper's constructor
// returns the module's own object).

/** Splits AIC frames into packets of at most `maxPacketBytes` (default 16 KiB). */
export class Packetizer {
  constructor(maxPacketBytes) {
    return new (cpuGlue().Packetizer)(maxPacketBytes);
  }
}

/** Puts packets back together into frames (reordering, duplicates, expiry). */
export class Reassembler {
  constructor() {
    return new (cpuGlue().Reassembler)();
  }
}

/** The core's bandwidth estimate, driven by receiver feedback. */
export class RateEstimate {
  constructor(maxKbps, minKbps) {
    return new (cpuGlue().RateEstimate)(maxKbps, minKbps);
  }
}

/** The AIC format version this build reads and writes. */
export function formatVersion() {
  return cpuGlue().formatVersion();
}

/** The model id and weights hash of the loaded weights. */
export function modelInfo() {
  return cpuGlue().modelInfo();
}
