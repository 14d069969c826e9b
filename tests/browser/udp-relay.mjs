// An impaired UDP path in user space (this kernel has no netem), for the relay test: a relay on
// 127.0.0.1 between a WebRTC peer (the browser) and `aic serve`'s UDP socket. Each direction is
// one bottleneck link:
//
//   datagram → seeded random loss → tail-drop queue (at most `queueMs` of backlog at the link's
//   rate) → serialization at `kbps` (a datagram leaves when the link is free) → one-way delay
//   `delayMs` → delivered
//
// so a sender above the rate sees its queueing delay grow up to `queueMs`, then tail drops, as at
// a real bottleneck. Rate, delay, loss and queue length can be changed while it runs (`setRate`,
// `set`); changes apply to datagrams that arrive afterwards.
//
// Addressing is a NAT's (endpoint-dependent mapping): each browser source address gets its own
// outbound socket, from which its datagrams go to the server; what the server sends to that
// socket goes back to that browser address. With one browser candidate (the usual case) that is
// "one front socket, one back socket, replies to the browser's last source". The server, ICE-lite,
// learns the back socket's address from the browser's STUN checks (a peer-reflexive candidate).
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';

/** A seeded PRNG (mulberry32): `() => number in [0, 1)`, the same sequence for the same seed. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * IPv4 + UDP headers: a real link carries them, so the rate applies to payload + 28 bytes
 * (settable; 0 caps the payload alone).
 */
const DEFAULT_OVERHEAD_BYTES = 28;

/** One direction of the path: loss, a tail-drop queue, serialization at a rate, a delay. */
export class Link {
  #rate; // bits per ms (= kbps)
  #delayMs;
  #loss;
  #queueMs;
  #overhead;
  #random;
  #freeAt = 0; // when the link finishes serializing what it holds (performance.now() ms)
  #inFlight = []; // { at, send } in delivery order
  #timer = null;
  #closed = false;
  counters = {
    datagrams: 0, // arrived at the link
    bytes: 0, // their payload bytes
    lossDrops: 0,
    queueDrops: 0,
    delivered: 0,
    deliveredBytes: 0,
    maxQueueMs: 0, // the largest backlog a datagram found on arrival (its own time excluded)
  };

  /**
   * @param {{kbps: number, delayMs?: number, loss?: number, queueMs?: number, overheadBytes?: number,
   *   random?: () => number}} options
   */
  constructor({ kbps, delayMs = 0, loss = 0, queueMs = 200, overheadBytes = DEFAULT_OVERHEAD_BYTES, random = Math.random }) {
    this.#overhead = overheadBytes;
    this.#random = random;
    this.set({ kbps, delayMs, loss, queueMs });
  }

  /** Changes any of kbps, delayMs, loss (0..1), queueMs for the datagrams that arrive from now. */
  set({ kbps, delayMs, loss, queueMs } = {}) {
    if (kbps !== undefined) {
      if (!(kbps > 0)) throw new Error(`kbps must be > 0, got ${kbps}`);
      // The backlog already queued keeps its departure times; new datagrams serialize at the new rate.
      this.#rate = kbps;
    }
    if (delayMs !== undefined) this.#delayMs = Math.max(0, delayMs);
    if (loss !== undefined) this.#loss = Math.min(1, Math.max(0, loss));
    if (queueMs !== undefined) this.#queueMs = Math.max(0, queueMs);
  }

  /** { kbps, delayMs, loss, queueLimitMs } */
  get settings() {
    return { kbps: this.#rate, delayMs: this.#delayMs, loss: this.#loss, queueLimitMs: this.#queueMs };
  }

  /** The backlog now: how long the link needs to serialize what it holds, ms. */
  get queueMs() {
    return Math.max(0, this.#freeAt - performance.now());
  }

  /** Takes one datagram; `send()` is called when it arrives at the far end (unless dropped). */
  push(size, send) {
    if (this.#closed) return;
    const c = this.counters;
    c.datagrams += 1;
    c.bytes += size;
    if (this.#loss > 0 && this.#random() < this.#loss) {
      c.lossDrops += 1;
      return;
    }
    const now = performance.now();
    const backlog = Math.max(0, this.#freeAt - now);
    const txMs = ((size + this.#overhead) * 8) / this.#rate;
    c.maxQueueMs = Math.max(c.maxQueueMs, backlog);
    if (backlog + txMs > this.#queueMs && backlog > 0) {
      // Tail drop. (An idle link takes any datagram, even one longer than the queue.)
      c.queueDrops += 1;
      return;
    }
    this.#freeAt = Math.max(now, this.#freeAt) + txMs;
    // Departures are in arrival order; a delay lowered at run time must not reorder them.
    const last = this.#inFlight.length ? this.#inFlight[this.#inFlight.length - 1].at : 0;
    const at = Math.max(this.#freeAt + this.#delayMs, last);
    this.#inFlight.push({ at, size, send });
    if (this.#inFlight.length === 1) this.#arm();
  }

  #arm() {
    clearTimeout(this.#timer);
    if (this.#closed || this.#inFlight.length === 0) return;
    this.#timer = setTimeout(() => this.#deliver(), Math.max(0, this.#inFlight[0].at - performance.now()));
  }

  #deliver() {
    // Timers fire up to ~1 ms late; deliver everything due by now (+0.5 ms), in order.
    const now = performance.now() + 0.5;
    while (this.#inFlight.length && this.#inFlight[0].at <= now) {
      const { size, send } = this.#inFlight.shift();
      this.counters.delivered += 1;
      this.counters.deliveredBytes += size;
      send();
    }
    this.#arm();
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#inFlight = [];
  }
}

/**
 * Starts a relay on 127.0.0.1 at a free port towards `target` ("host:port").
 * `up` (browser → server) and `down` (server → browser) take Link's options; `seed` seeds both
 * directions' loss (each its own sequence). Resolves to
 * { address, port, up, down, setRate(kbps, which?), stats(), close() }.
 */
export async function startRelay({ target, up = {}, down = {}, seed = 1 }) {
  const m = /^(.*):(\d+)$/.exec(target);
  if (!m) throw new Error(`target must be host:port, got ${target}`);
  const [, targetHost, targetPortText] = m;
  const targetPort = Number(targetPortText);
  const upLink = new Link({ kbps: 1e6, ...up, random: seededRandom(seed) });
  const downLink = new Link({ kbps: 1e6, ...down, random: seededRandom(seed ^ 0x9e3779b9) });
  const front = dgram.createSocket('udp4');
  const mappings = new Map(); // "addr:port" of a browser source → its back socket
  let closed = false;
  let sendErrors = 0;

  const backFor = (address, port) => {
    const key = `${address}:${port}`;
    let back = mappings.get(key);
    if (!back) {
      back = dgram.createSocket('udp4');
      back.on('message', (msg) => {
        downLink.push(msg.length, () => {
          if (!closed) front.send(msg, port, address, (e) => e && sendErrors++);
        });
      });
      back.on('error', () => sendErrors++);
      back.bind(0, '127.0.0.1');
      mappings.set(key, back);
    }
    return back;
  };

  front.on('message', (msg, rinfo) => {
    const back = backFor(rinfo.address, rinfo.port);
    upLink.push(msg.length, () => {
      if (!closed) back.send(msg, targetPort, targetHost, (e) => e && sendErrors++);
    });
  });
  front.on('error', () => sendErrors++);
  await new Promise((ok) => front.bind(0, '127.0.0.1', ok));
  const { address, port } = front.address();

  const one = (link) => ({ ...link.counters, queueMs: link.queueMs, ...link.settings });
  return {
    address,
    port,
    up: upLink,
    down: downLink,
    /** Sets the rate cap of both directions (or of 'up' or 'down' only), kbps. */
    setRate(kbps, which = 'both') {
      if (which !== 'down') upLink.set({ kbps });
      if (which !== 'up') downLink.set({ kbps });
    },
    /** Counters and settings of each direction, the browser sources seen, send errors. */
    stats() {
      return { up: one(upLink), down: one(downLink), sources: [...mappings.keys()], sendErrors };
    },
    async close() {
      closed = true;
      upLink.close();
      downLink.close();
      await Promise.all([front, ...mappings.values()].map((s) => new Promise((ok) => s.close(ok))));
    },
  };
}
