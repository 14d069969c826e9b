// Types of @auralink/aic (the same API in the browser and in Node).

/** Where the model runs. `auto`: WebGPU when the environment has an adapter, else the CPU. */
export type Backend = 'auto' | 'webgpu' | 'cpu';

/** `auto`: the neural codec, falling back to lossless zlib (with a reason) when it cannot serve. */
export type Codec = 'auto' | 'neural' | 'zlib';

/** RGBA pixels, 4 bytes per pixel, rows top to bottom: ImageData or a plain object (Node). */
export interface ImageDataLike {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/** What `encode` accepts. */
export type FrameSource =
  | ImageDataLike
  | ImageData
  | VideoFrame
  | ImageBitmap
  | HTMLCanvasElement
  | OffscreenCanvas
  | HTMLImageElement
  | HTMLVideoElement;

/** Errors thrown or rejected by this package carry a stable code (docs/format.md §7). */
export interface AicError extends Error {
  /** e.g. `format.truncated`, `format.bad_checksum`, `parameter`, `model_mismatch`, `unavailable`, `busy`. */
  code: string;
}

export interface EncodeStats {
  bytes: number;
  bpp: number;
  encodeMs: number;
  backend: string;
  codec: 'neural' | 'zlib' | 'raw';
  /** The neural level (fractional between trained levels), or the zlib level. */
  quality: number;
  fallbackReason: string | null;
  /** 'key' or 'delta' (delta frames only after setTargetBitrate). */
  kind: 'key' | 'delta';
  /** Delta frames: the fraction of the latent grid left as it was; else null. */
  skippedFraction: number | null;
  width: number;
  height: number;
}

export interface DecodeStats {
  bytes: number;
  decodeMs: number;
  backend: string;
  codec: 'neural' | 'zlib' | 'raw';
  quality: number;
  kind: 'key' | 'delta';
  skippedFraction: number | null;
  seq: number;
  timestampUs: number;
  width: number;
  height: number;
}

/** Where a module or the weights come from. */
export type AicSource = string | URL | Request | Response | BufferSource | WebAssembly.Module;

/** The files the package loads, each beside the entry module by default (`dist/wasm/`). */
export interface AicSources {
  /** The CPU module, `aic_cpu_bg.wasm`: loaded by every page (one thread). */
  cpu?: AicSource;
  /** The threaded CPU module, `aic_cpu_mt_bg.wasm`: loaded instead in a cross-origin-isolated Worker. */
  cpuThreads?: AicSource;
  /** Threads for the CPU module: a number, or false for one (default: every core, in a cross-origin-isolated Worker only). */
  threads?: number | false;
  /** The WebGPU module, `aic_webgpu_bg.wasm`: fetched only when a codec runs on WebGPU. */
  webgpu?: AicSource;
  /** The weights, `aic-fp1h.safetensors` (float16), fetched once and given to each module. */
  weights?: string | URL | Response | BufferSource;
}

/**
 * Loads the CPU module and the weights, in parallel (done by every `create`); pass other
 * locations if you serve the files elsewhere. A single source is the CPU module's.
 */
export function initAic(sources?: AicSources | AicSource): Promise<void>;

/** Threads the CPU module runs on (0: the one-thread build) and why not, where threads were wanted. */
export function cpuThreads(): { threads: number; note: string | null };

/** The weights file name (`aic-fp1h.safetensors`). */
export const WEIGHTS_FILE: string;

export class AicEncoder {
  static create(options?: { backend?: Backend; quality?: number; codec?: Codec }): Promise<AicEncoder>;
  /** 'webgpu' or 'cpu' ('none' for codec 'zlib'). */
  readonly backend: string;
  /** Why 'auto' did not get WebGPU, if it did not. */
  readonly backendNote: string | null;
  lastStats: EncodeStats | null;
  /** Resolves to the AIC frame bytes. */
  encode(frame: FrameSource, options?: { timestampUs?: number }): Promise<Uint8Array>;
  /** Live video from now on: key and delta frames at `kbps` for `fps` frames a second (default 30). */
  setTargetBitrate(kbps: number, fps?: number): Promise<void>;
  /** Makes the next frame a key frame. */
  requestKeyFrame(): Promise<void>;
  /** Undoes the last live-video frame (none of its bytes sent); resolves to whether there was one. */
  dropLastFrame(): Promise<boolean>;
  free(): void;
}

export class AicDecoder {
  static create(options?: { backend?: Backend }): Promise<AicDecoder>;
  readonly backend: string;
  readonly backendNote: string | null;
  lastStats: DecodeStats | null;
  /** Resolves to an ImageData in the browser, an ImageDataLike (Uint8ClampedArray) elsewhere. */
  decode(bytes: Uint8Array | ArrayBuffer): Promise<ImageData | ImageDataLike>;
  /** The latent's symbol count and CRC-32 (as `aic info --latents` prints them); undefined for lossless frames. */
  latents(bytes: Uint8Array | ArrayBuffer): Promise<{ symbols: number; crc32: string } | undefined>;
  free(): void;
}

/** Sends AIC frames over a data channel as packets (one call per frame). */
export class AicSender {
  constructor(channel: RTCDataChannel, options?: { maxPacketBytes?: number });
  /** Returns the number of packets sent. */
  send(frame: Uint8Array | ArrayBuffer): number;
}

/** Counters of an AicLiveSender. */
export interface LiveSenderStats {
  /** Frames encoded and queued, including those later dropped unsent (`framesDropped`). */
  framesSent: number;
  /** Frames dropped unsent because the channel was behind (the encoder rolled back). */
  framesDropped: number;
  packetsSent: number;
  /** Key-frame requests received (served at most every 500 ms). */
  keyRequests: number;
  /** Receiver reports received. */
  reports: number;
  /** The bandwidth estimate, kbps (the rate controller's target). */
  estimateKbps: number;
  /** The latency budget's mode: 'full', 'no_refinement' or 'half_resolution'. */
  latencyMode: 'full' | 'no_refinement' | 'half_resolution';
  latencySwitches: number;
}

/** The last frame an AicLiveSender pushed. */
export interface LiveSenderFrameStats {
  kind: 'key' | 'delta';
  /** The quality step the rate controller chose. */
  step: number;
  bytes: number;
  encodeMs: number;
  updatedFraction: number;
  refined: boolean;
  half: boolean;
  latencyMode: LiveSenderStats['latencyMode'];
  width: number;
  height: number;
}

/** Options of an AicLiveSender. */
export interface LiveSenderOptions {
  /** The application's cap, kbps (default 500); the estimate starts here. */
  maxKbps?: number;
  /** The estimate's floor, kbps (default 50). */
  minKbps?: number;
  /** Nominal frame rate (default 25). */
  fps?: number;
  maxPacketBytes?: number;
  /** The encoder's time budget per frame, ms (default: none). */
  latencyBudgetMs?: number;
}

/**
 * Live video over an unreliable data channel on the core's sender (in wasm): rate control,
 * pacing on `bufferedAmount` (a frame the channel had no room for is dropped and the encoder
 * rolled back), feedback driving key frames and the bandwidth estimate, a latency budget.
 */
export class AicLiveSender {
  /** `encoder` gives the backend; the sender encodes with its own video encoder on that model. */
  constructor(channel: RTCDataChannel, encoder: AicEncoder | { backend: Backend }, options?: LiveSenderOptions);
  /** A sender on `backend`, started. */
  static create(channel: RTCDataChannel, options?: LiveSenderOptions & { backend?: Backend }): Promise<AicLiveSender>;
  /** Loads the sender's model (push does it too). */
  start(): Promise<void>;
  /** The backend the sender encodes on, once started. */
  readonly backend: 'webgpu' | 'cpu' | null;
  /** Encodes and sends one frame, paced; resolves to its AIC bytes. */
  push(frame: FrameSource, options?: { timestampUs?: number }): Promise<Uint8Array>;
  /** Sets the application's cap, kbps. */
  setMaxKbps(kbps: number): Promise<void>;
  readonly stats: LiveSenderStats;
  readonly lastStats: LiveSenderFrameStats | null;
  free(): void;
}

/** What AicLiveReceiver saw. */
export interface LiveReceiverStats {
  shown: number;
  /** Frames decoded after their deadline (not shown). */
  late: number;
  /** Delta frames refused because their reference was lost (a key frame was asked for). */
  noReference: number;
  corrupt: number;
  /** Frames that never arrived. */
  lost: number;
  feedbackSent: number;
  lastDelayMs: number | null;
}

/** An event of the live receiver. */
export type LiveReceiverEvent =
  | { type: 'show'; seq: number; data: Uint8ClampedArray; width: number; height: number; kind: 'key' | 'delta'; timestampUs: number; delayMs: number }
  | { type: 'drop'; seq: number; reason: 'noReference' | 'late' | 'corrupt' }
  | { type: 'lost'; from: number; count: number };

/** The receiving end of AicLiveSender (CPU module): loss recovery, key-frame requests, deadline, reports. */
export class AicLiveReceiver {
  static create(
    channel: RTCDataChannel | null,
    onFrame: (image: ImageData | ImageDataLike, info: { seq: number; kind: string; delayMs: number; timestampUs: number }) => void,
    options?: { deadlineMs?: number },
  ): Promise<AicLiveReceiver>;
  /** Whether it waits for a key frame. */
  readonly broken: boolean;
  onEvent: ((e: LiveReceiverEvent) => void) | null;
  onError: ((e: AicError) => void) | null;
  /** Feedback to send when there is no channel. */
  onFeedback: ((bytes: Uint8Array) => void) | null;
  readonly stats: LiveReceiverStats;
  push(packet: ArrayBuffer | Uint8Array): void;
  tick(): void;
  close(): void;
}

/** The core's bandwidth estimate, driven by feedback messages (docs/format.md §10). */
export class RateEstimate {
  constructor(maxKbps: number, minKbps: number);
  readonly kbps: number;
  onFeedback(bytes: Uint8Array): { kind: 'keyFrameRequest' } | { kind: 'recoveryRequest'; longTerm: number } | { kind: 'report'; kbps: number };
  onOveruse(): number;
  free(): void;
}

/** Reassembles packets from a data channel; calls `onFrame` with each complete frame. */
export class AicReceiver {
  constructor(channel: RTCDataChannel | null, onFrame: (frame: Uint8Array) => void);
  onError: ((error: AicError) => void) | null;
  push(packet: ArrayBuffer | Uint8Array): void;
  readonly stats: ReassemblyStats;
}

export interface ReassemblyStats {
  completed: number;
  dropped: number;
  droppedReady: number;
  duplicates: number;
  stale: number;
  rejected: number;
}

/** Splits AIC frames into packets (docs/format.md §4). */
export class Packetizer {
  constructor(maxPacketBytes?: number);
  readonly maxPacketBytes: number;
  packetize(frame: Uint8Array): Uint8Array[];
  free(): void;
}

/** Collects packets (any order, loss, duplicates) into frames. */
export class Reassembler {
  constructor();
  push(packet: Uint8Array, nowMs: number): 'need_more' | 'frame_complete' | 'duplicate' | 'stale';
  pollFrame(): Uint8Array | undefined;
  expire(nowMs: number): void;
  readonly stats: ReassemblyStats;
  free(): void;
}

/** The AIC format version this build reads and writes. */
export function formatVersion(): number;

/** The shipped model's id and weights hash, as AIC headers carry them. */
export function modelInfo(): { modelId: number; weightsHash: string };
