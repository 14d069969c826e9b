// End to end over an impaired path: live video from headless Chromium to `aic serve` through a
// user-space UDP relay (udp-relay.mjs; this kernel has no netem) that caps the rate each way,
// adds a one-way delay of 50 ms (RTT 100 ms) and 2 % seeded random loss, with a tail-drop queue
// of 200 ms at the bottleneck. The page encodes the fake camera (the real clip
// tests/fixtures/generated/clips/talking-320x240.y4m) and sends it with AicLiveSender (the core's
// sender in wasm, CPU backend, cap 300 kbps, 10 fps) on an unordered, unreliable data channel; the
// server's ICE candidate in the WHIP answer is rewritten to the relay's port (the server is
// ICE-lite and learns the relay's address from the STUN checks).
//
// 60 s: the link carries 400 kbps each way for 30 s, then 150 kbps — below the sender's cap —
// for 30 s. Every 5 s the test reads the session's stats (`GET /v1/sessions/{id}`), the relay's
// counters and the sender's stats, prints them as a table of windows, and checks that the
// sender followed the drop: nothing corrupt, most frames shown, the received rate within the new
// capacity but not starved, the delay flat, and the bottleneck queue not kept full.
//
// Needs what ingest.test.mjs needs (the native binary with `serve`, the built package, the clip;
// see aic-serve.mjs). The server's log goes to $AIC_ARTIFACTS/relay-server.log (AIC_VERBOSE=1
// echoes it and the page's console); the windows, samples and every pushed frame (seq, kind,
// bytes, the channel's bufferedAmount) to $AIC_ARTIFACTS/relay-trace.json. AIC_RELAY_SEED changes
// the loss pattern (default 1); AIC_RELAY_PHASES the capacity's two phases (default 400:30,150:30);
// AIC_RELAY_FPS the frame rate (default 10). Frames carry Unix time, so the server's stats also
// give the absolute capture-to-decode delay (wall clock; the page and the server share it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ARTIFACTS,
  ROOT,
  VERBOSE,
  checkPrerequisites,
  installKit,
  launchBrowser,
  authorized,
  sessionStats,
  startServer,
  stopServer,
} from './aic-serve.mjs';
import { serve } from './server.mjs';
import { startRelay } from './udp-relay.mjs';

const SEED = Number(process.env.AIC_RELAY_SEED ?? 1);
/** The sender's cap and frame rate (AicLiveSender's maxKbps, fps). */
const MAX_KBPS = 300;
const FPS = Number(process.env.AIC_RELAY_FPS ?? 10);
/**
 * AicLiveSender's floor (its default). AIC_RELAY_MIN_KBPS=300 pins the estimate at the cap (a
 * sender deaf to feedback, only paced by the channel): a control run that the checks must fail.
 */
const MIN_KBPS = Number(process.env.AIC_RELAY_MIN_KBPS ?? 50);
/** AIC packets of at most this many bytes: one packet per datagram (SCTP does not fragment it). */
const PACKET_BYTES = 1000;
/** The path: each direction. */
const PATH = { delayMs: 50, loss: 0.02, queueMs: 200 };
/**
 * The link's capacity over time: two phases, the drop between them. AIC_RELAY_PHASES="400:150,150:150"
 * (kbps:seconds each) makes the 5-minute run of docs/video.md.
 */
const PHASES = (process.env.AIC_RELAY_PHASES ?? '400:30,150:30').split(',').map((p) => {
  const [kbps, s] = p.split(':').map(Number);
  return { kbps, ms: s * 1000 };
});
if (PHASES.length !== 2 || PHASES.some((p) => !(p.kbps > 0 && p.ms >= 20_000))) {
  throw new Error(`AIC_RELAY_PHASES: two phases kbps:seconds (seconds ≥ 20), got ${process.env.AIC_RELAY_PHASES}`);
}
const WINDOW_MS = 5000;
/** Queue samples (every QUEUE_SAMPLE_MS) above this fraction of the queue limit count as "full". */
const QUEUE_SAMPLE_MS = 20;
const QUEUE_FULL_FRACTION = 0.75;

// The checks. Measured on this project's 2-core x86-64 VM (debug `aic serve`, Chromium's CPU
// backend, encode ≈ 14–18 ms a frame), 2026-11-30, eight runs (seeds 1 ×5, 2, 3, 4). What the
// sender does there (npm/dist of 2026-11-30 09:08, whose estimate judges loss per report): on
// the 400-kbps link it gets 168–213 kbps through (its estimate swings 100–300 kbps: at 10 fps a
// 200-ms report covers two frames, so one lost frame reads as 33–50 % loss and cuts the
// estimate by 17–25 %); at 150 kbps it settles at 71–92 kbps (the estimate's
// queueing-delay guard fires on 1–8 of 25 reports a window: at that rate one frame's own
// serialization, ≈ 70 ms, is most of the 80-ms limit). It dropped frames unsent in one run only
// (9, in the 5 s after the drop; the largest arrival delay then 639 ms, back under 100 ms by 35 s).
// Each lost frame costs a key frame: 31–43 key frames, 68–84 frames without a reference.
//
// A control run, AIC_RELAY_MIN_KBPS=300 (the estimate pinned at the cap: the sender is paced by
// the channel only), must fail, and did (three runs): shown 56–59 % over the run and 0–3 % in
// the last 20 s, 197–210 frames dropped unsent, arrival delay p95 ≈ 900 ms, 5.1–5.7 % queue
// drops — while the server's delay p95 stayed at its value before the drop (no frame shown to
// move it), hence LATE_SHOWN_FRACTION and ARRIVAL_P95_MAX_MS. There, after the drop, 88–106 key
// frames were encoded (most dropped unsent and encoded again) at 7.4–7.5 KB on average, against
// 3.4 KB before: a frame dropped unsent rolls the encoder back, rate controller included, so the
// next frame's budget also covers the dropped frame's interval (up to 4 intervals,
// RateController::interval_s) and grows just when the channel is behind; such key frames need
// ≈ 400 ms on a 150-kbps link, the receiver's deadline, and were lost or late.
/** Frames shown by the server over the run, at least this fraction of the frames sent. Measured 80.3–84.5 %. */
const SHOWN_FRACTION = 0.6;
/**
 * In the last 20 s (capacity 150 kbps), the server's received rate (AIC packet bytes), kbps.
 * Measured 71–92. The link itself caps it below ≈ 140 (DTLS, SCTP, UDP and IP headers ride
 * on it too): the maximum guards the relay (110 % of the second phase's capacity, or of the
 * sender's cap when the link is wider, as in the delay benchmark of docs/video.md); the
 * minimum, that the sender did not starve.
 */
const LATE_KBPS_MAX = 1.1 * Math.min(PHASES[1].kbps, MAX_KBPS);
const LATE_KBPS_MIN = 40;
/**
 * The server's delay p95 (its last 256 shown frames, ≈ the 30 s after the drop) at the end, ms,
 * and its rise over the p95 before the drop. Measured 66.8–76.9 ms before, 88.2–98.6 at the end
 * (rise 17.7–24.4 ms).
 */
const P95_END_MAX_MS = 200;
const P95_RISE_MAX_MS = 100;
/**
 * In the last 20 s, frames shown at least this fraction of the frames sent then (the server's
 * delay percentiles are over shown frames: a stream that stopped showing frames would keep the
 * p95 of before). Measured 79.5–94 %.
 */
const LATE_SHOWN_FRACTION = 0.6;
/**
 * The receiver reports' arrival delay (each report's median capture → arrival over 200 ms, less
 * the smallest seen) p95 over the last 20 s, ms: a view per interval, not over 256 frames.
 * Measured 89–97 ms (four runs; the largest single report of any window after the first 5 s
 * following the drop: 211 ms).
 */
const ARRIVAL_P95_MAX_MS = 200;
/**
 * Datagrams tail-dropped by the relay's up-link queue from 5 s after the drop, at most this
 * fraction. Measured 0 of ≈ 600 in every run (0–8 in the 5 s after the drop).
 */
const QUEUE_DROP_MAX = 0.05;

let server;
let pages;
let relay;
let browser;
let page;
let session = null; // { id, url }
const pageErrors = [];

const logTail = (n = 4000) => (server ? server.log().slice(-n) : '(server not started)');
const killOnExit = () => server?.proc.kill('SIGKILL');
const f = (x, d = 1) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : String(x));
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

before(async () => {
  checkPrerequisites();
  process.once('exit', killOnExit);
  server = await startServer();
  console.log(`relay: ${server.line}`);
  relay = await startRelay({
    target: server.udp,
    up: { ...PATH, kbps: PHASES[0].kbps },
    down: { ...PATH, kbps: PHASES[0].kbps },
    seed: SEED,
  });
  console.log(
    `relay: udp relay 127.0.0.1:${relay.port} → ${server.udp}: ${PHASES[0].kbps} kbps, ${PATH.delayMs} ms, ` +
      `${PATH.loss * 100} % loss, ${PATH.queueMs} ms queue each way (seed ${SEED}); sender ${MIN_KBPS}..${MAX_KBPS} kbps`,
  );
  pages = await serve(ROOT);
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || VERBOSE) console.log(`[page] ${m.text()}`);
  });
  page.on('pageerror', (e) => {
    pageErrors.push(e.message);
    console.log(`[page error] ${e.message}`);
  });
  await page.goto(`${pages.url}/tests/browser/pages/harness.html`);
  await page.waitForFunction('window.harnessReady === true', null, { timeout: 120_000, polling: 250 });
  await installKit(page);
});

after(async () => {
  if (session) await fetch(session.url, authorized({ method: 'DELETE' })).catch(() => {});
  await page?.evaluate(() => window.relayRun?.stop()).catch(() => {});
  await browser?.close();
  await pages?.close();
  await relay?.close();
  if (server) {
    await stopServer(server, 'relay');
    process.removeListener('exit', killOnExit);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'relay-server.log'), server.log());
  }
});

/**
 * In the page: encoder, camera, peer connection (WHIP, the answer's candidate pointed at the
 * relay), channel open; installs window.relayRun with `start()`, `poll()` and `stop()`.
 */
function connect() {
  return page.evaluate(
    async ({ http, relayPort, maxKbps, minKbps, fps, packetBytes }) => {
      const { AicEncoder, AicLiveSender } = window.aic;
      const encoder = await AicEncoder.create({ backend: 'cpu', quality: 3 });
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 320, height: 240, frameRate: { ideal: 25 } },
        audio: false,
      });
      const [track] = stream.getVideoTracks();
      const pc = new RTCPeerConnection();
      const channel = pc.createDataChannel('aic', { ordered: false, maxRetransmits: 0 });
      channel.binaryType = 'arraybuffer';
      const r = {
        encoder,
        pc,
        channel,
        sender: null,
        latest: null, // the newest camera frame not pushed yet
        busy: false,
        stopped: false,
        timer: null,
        t0: 0,
        ticks: 0,
        skippedTicks: 0, // the previous push had not resolved
        noFrameTicks: 0, // no new camera frame since the last push
        pushed: 0,
        keyFrames: 0,
        encodeMs: 0,
        errors: [],
        reports: [], // receiver reports since the last poll: { t, queueDelayMs, kbps, received, lost }
        trace: [], // every push: { t, seq, kind, bytes, buffered, dropped, estimate } (for the artifacts)
        closedEarly: false,
      };
      window.relayRun = r;
      // The receiver reports as they come (AicLiveSender reads them too): the arrival delay per
      // 200 ms interval, a per-window view the server's 256-frame percentiles do not give.
      channel.addEventListener('message', (ev) => {
        const b = ev.data instanceof ArrayBuffer ? new Uint8Array(ev.data) : new Uint8Array(0);
        if (b.length === 24 && b[0] === 0x41 && b[1] === 0x46 && b[2] === 1 && b[3] === 2) {
          const v = new DataView(b.buffer);
          const intervalMs = v.getUint16(16, true);
          const report = {
            t: performance.now(),
            received: v.getUint16(8, true),
            lost: v.getUint16(10, true),
            kbps: intervalMs ? (v.getUint32(12, true) * 8) / intervalMs : 0,
            queueDelayMs: v.getUint16(18, true),
            estimate: null, // the sender's estimate after it took this report
          };
          r.reports.push(report);
          // The sender's listener runs after this one (same event); read its estimate after.
          setTimeout(() => (report.estimate = r.sender?.stats.estimateKbps ?? null), 0);
        }
      });
      channel.addEventListener('close', () => (r.closedEarly = true));
      const opened = new Promise((ok) => channel.addEventListener('open', ok, { once: true }));
      const whip = await window.ingestKit.whip(http, pc, { candidatePort: relayPort });
      if (whip.status !== 201) return { whip };
      const open = await Promise.race([opened.then(() => true), new Promise((ok) => setTimeout(() => ok(false), 20_000))]);
      if (!open) return { whip, open, diag: await window.ingestKit.diag(pc) };

      r.start = async () => {
        r.sender = new AicLiveSender(channel, encoder, { maxKbps, minKbps, fps, maxPacketBytes: packetBytes });
        await r.sender.start();
        const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
        (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            r.latest?.close();
            r.latest = value;
            if (r.stopped) {
              r.latest.close();
              r.latest = null;
              track.stop();
              return;
            }
          }
        })();
        r.t0 = performance.now();
        // A frame every 1/fps s; a tick whose previous push has not resolved is skipped.
        r.timer = setInterval(() => {
          r.ticks++;
          if (r.busy) {
            r.skippedTicks++;
            return;
          }
          const frame = r.latest;
          if (!frame) {
            r.noFrameTicks++;
            return;
          }
          r.latest = null;
          r.busy = true;
          const t = performance.now() - r.t0;
          // Capture time = now (the push), as Unix time in µs: the server's delays relative to
          // the smallest seen need no common clock; on loopback its wall-clock delays are the
          // absolute capture-to-decode delay (the page and the server share the clock).
          r.sender
            .push(frame, { timestampUs: Math.round((performance.timeOrigin + performance.now()) * 1000) })
            .then((bytes) => {
              r.trace.push({
                t: Math.round(t),
                seq: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(24, true),
                kind: r.sender.lastStats.kind,
                bytes: bytes.length,
                buffered: channel.bufferedAmount,
                dropped: r.sender.stats.framesDropped, // so far (a frame is dropped at the next push)
                estimate: Math.round(r.sender.stats.estimateKbps),
              });
              r.pushed++;
              r.encodeMs += r.sender.lastStats.encodeMs;
              if (r.sender.lastStats.kind === 'key') r.keyFrames++;
            })
            .catch((e) => r.errors.push(String(e?.message ?? e)))
            .finally(() => {
              frame.close();
              r.busy = false;
            });
        }, 1000 / fps);
      };
      r.poll = () => {
        const reports = r.reports;
        r.reports = [];
        return {
          t: performance.now() - r.t0,
          sender: { ...r.sender.stats },
          ticks: r.ticks,
          skippedTicks: r.skippedTicks,
          noFrameTicks: r.noFrameTicks,
          pushed: r.pushed,
          keyFrames: r.keyFrames,
          encodeMs: r.encodeMs,
          errors: r.errors.slice(),
          reports,
          bufferedAmount: channel.bufferedAmount,
          channelState: channel.readyState,
          closedEarly: r.closedEarly,
          connectionState: pc.connectionState,
        };
      };
      r.stop = () => {
        r.stopped = true;
        clearInterval(r.timer);
      };
      return { whip, open, backend: encoder.backend };
    },
    { http: server.http, relayPort: relay.port, maxKbps: MAX_KBPS, minKbps: MIN_KBPS, fps: FPS, packetBytes: PACKET_BYTES },
  );
}

const pct = (values, p) => {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.round((s.length - 1) * p)];
};

test(`relay: live video through a ${PHASES[0].kbps} → ${PHASES[1].kbps} kbps link with 100 ms RTT and 2 % loss`, { timeout: PHASES[0].ms + PHASES[1].ms + 60_000 }, async () => {
  const c = await connect();
  assert.equal(c.whip.status, 201, `POST /v1/whip answered ${c.whip.status}: ${c.whip.error}\nserver log:\n${logTail()}`);
  assert.ok(c.whip.candidates >= 1, `no host candidate rewritten in the answer:\n${c.whip.answer}`);
  session = { id: decodeURIComponent(c.whip.location.split('/').pop()), url: new URL(c.whip.location, server.http).href };
  assert.ok(
    c.open,
    `the data channel did not open within 20 s through the relay.\npeer connection: ${JSON.stringify(c.diag, null, 1)}\n` +
      `relay: ${JSON.stringify(relay.stats())}\nanswer SDP:\n${c.whip.answer}\nserver log:\n${logTail()}`,
  );
  assert.equal(c.backend, 'cpu');

  // The samples: one at the start, then one every WINDOW_MS; the rate drops after the sample
  // at the end of the first phase.
  const sample = async () => {
    const [st, pg] = await Promise.all([sessionStats(session.url), page.evaluate(() => window.relayRun.poll())]);
    assert.equal(st.status, 200, `GET ${session.url}: ${st.status} ${JSON.stringify(st.body)}`);
    return { server: st.body, page: pg, relay: relay.stats() };
  };
  const queueSamples = []; // [ms since start, up-link backlog ms]
  await page.evaluate(() => window.relayRun.start());
  const t0 = performance.now();
  const sampler = setInterval(() => queueSamples.push([performance.now() - t0, relay.up.queueMs]), QUEUE_SAMPLE_MS);
  const samples = [await sample()];
  const totalMs = PHASES.reduce((a, p) => a + p.ms, 0);
  let phaseEnd = PHASES[0].ms;
  let phase = 0;
  const dropAt = PHASES[0].ms; // ms from the start
  try {
    for (let at = WINDOW_MS; at <= totalMs; at += WINDOW_MS) {
      await sleep(Math.max(0, t0 + at - performance.now()));
      const s = await sample();
      s.at = at;
      s.kbps = PHASES[phase].kbps;
      samples.push(s);
      if (at >= phaseEnd && phase + 1 < PHASES.length) {
        phase++;
        relay.setRate(PHASES[phase].kbps);
        phaseEnd += PHASES[phase].ms;
      }
    }
  } finally {
    clearInterval(sampler);
    await page.evaluate(() => window.relayRun.stop());
  }
  // Let the frames in flight arrive (a few hundred ms at most), then the final counts.
  await sleep(1000);
  const end = await sample();
  samples[0].at = 0;

  // Per window.
  const rows = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    const dt = b.at - a.at;
    const up = (k) => b.relay.up[k] - a.relay.up[k];
    const q = queueSamples.filter(([t]) => t >= a.at && t < b.at).map(([, ms]) => ms);
    const delays = b.page.reports.map((r) => r.queueDelayMs);
    const estimates = b.page.reports.map((r) => r.estimate).filter((e) => e !== null);
    // Reports that declared frames lost, and reports whose queueing delay is above the 80 ms of
    // the core's estimate's delay guard (crates/core/src/session/estimate.rs), of all.
    const rules = {
      lossy: b.page.reports.filter((r) => r.lost > 0).length,
      delayed: b.page.reports.filter((r) => r.queueDelayMs > 80 && r.kbps > 0).length,
      all: b.page.reports.length,
    };
    rows.push({
      window: `${a.at / 1000}–${b.at / 1000}`,
      linkKbps: b.kbps,
      kbps: ((b.server.bytes - a.server.bytes) * 8) / dt,
      shown: b.server.frames_shown - a.server.frames_shown,
      sent: b.page.sender.framesSent - a.page.sender.framesSent - (b.page.sender.framesDropped - a.page.sender.framesDropped),
      dropped: b.page.sender.framesDropped - a.page.sender.framesDropped,
      lost: b.server.frames_lost - a.server.frames_lost,
      noRef: b.server.frames_no_reference - a.server.frames_no_reference,
      late: b.server.frames_late - a.server.frames_late,
      keys: b.page.keyFrames - a.page.keyFrames,
      keyReq: b.page.sender.keyRequests - a.page.sender.keyRequests,
      estimate: b.page.sender.estimateKbps,
      estMin: estimates.length ? Math.min(...estimates) : NaN,
      estMean: estimates.length ? estimates.reduce((x, y) => x + y, 0) / estimates.length : NaN,
      rules,
      p50: b.server.delay_p50_ms,
      p95: b.server.delay_p95_ms,
      wall50: b.server.wall_delay_p50_ms,
      wall95: b.server.wall_delay_p95_ms,
      arrP50: pct(delays, 0.5),
      arrMax: delays.length ? Math.max(...delays) : NaN,
      upIn: up('datagrams'),
      upLoss: up('lossDrops'),
      upQueueDrops: up('queueDrops'),
      queueMean: q.length ? q.reduce((x, y) => x + y, 0) / q.length : NaN,
      queueFull: q.length ? q.filter((ms) => ms > QUEUE_FULL_FRACTION * PATH.queueMs).length / q.length : NaN,
    });
  }
  console.log(
    'relay: window s | link kbps | server kbps | shown/sent (dropped unsent) | lost | no ref | late | key frames (req) | ' +
      'estimate min/mean/end | reports lossy/delay > 80 ms/all | delay p50/p95 (server, last 256 shown, relative) | absolute (wall clock) | arrival delay p50/max (reports) | up datagrams: in, loss, queue drops | queue mean ms, % time > 75 %',
  );
  for (const r of rows) {
    console.log(
      `relay: ${r.window.padEnd(6)} | ${r.linkKbps} | ${f(r.kbps).padStart(5)} | ${r.shown}/${r.sent} (${r.dropped}) | ${r.lost} | ` +
        `${r.noRef} | ${r.late} | ${r.keys} (${r.keyReq}) | ${f(r.estMin, 0)}/${f(r.estMean, 0)}/${f(r.estimate, 0)} | ` +
        `${r.rules.lossy}/${r.rules.delayed}/${r.rules.all} | ${f(r.p50)}/${f(r.p95)} | ${f(r.wall50)}/${f(r.wall95)} | ` +
        `${f(r.arrP50, 0)}/${f(r.arrMax, 0)} | ${r.upIn}, ${r.upLoss}, ${r.upQueueDrops} | ${f(r.queueMean)}, ${f(r.queueFull * 100, 0)}`,
    );
  }

  const last = samples[samples.length - 1];
  const atDrop = samples.find((s) => s.at === dropAt);
  const s20 = samples.find((s) => s.at === totalMs - 20_000);
  const s5 = samples.find((s) => s.at === dropAt + 5000);
  const lateKbps = ((last.server.bytes - s20.server.bytes) * 8) / (last.at - s20.at);
  const earlyKbps = ((atDrop.server.bytes - samples[1].server.bytes) * 8) / (atDrop.at - samples[1].at);
  // Frames that went on the channel: AicLiveSender's framesSent counts every frame encoded,
  // those it dropped unsent (and rolled back) included.
  const onWire = (x) => x.page.sender.framesSent - x.page.sender.framesDropped;
  const sentFrames = onWire(end);
  const lateShown = last.server.frames_shown - s20.server.frames_shown;
  const lateSent = onWire(last) - onWire(s20);
  // The receiver reports' arrival delay (median capture → arrival per 200 ms, less the smallest
  // seen) over the last 20 s, intervals in which frames arrived.
  const lateArrival = samples
    .filter((x) => x.at > s20.at)
    .flatMap((x) => x.page.reports)
    .filter((r) => r.received > 0)
    .map((r) => r.queueDelayMs);
  const lateArrivalP95 = pct(lateArrival, 0.95);
  const shown = end.server.frames_shown;
  const upAfter = {
    datagrams: last.relay.up.datagrams - s5.relay.up.datagrams,
    queueDrops: last.relay.up.queueDrops - s5.relay.up.queueDrops,
  };
  const queueDropFraction = upAfter.queueDrops / Math.max(1, upAfter.datagrams);
  const rs = end.relay;
  const srv = end.server;
  const snd = end.page.sender;
  console.log(
    `relay: summary: delay p50/p95 ${f(atDrop.server.delay_p50_ms)}/${f(atDrop.server.delay_p95_ms)} ms before the drop, ` +
      `${f(last.server.delay_p50_ms)}/${f(last.server.delay_p95_ms)} ms at the end (relative); absolute capture to decode ` +
      `(wall clock, loopback) ${f(atDrop.server.wall_delay_p50_ms)}/${f(atDrop.server.wall_delay_p95_ms)} ms before, ` +
      `${f(last.server.wall_delay_p50_ms)}/${f(last.server.wall_delay_p95_ms)} ms at the end; server ${f(earlyKbps)} kbps (5–30 s), ` +
      `${f(lateKbps)} kbps (last 20 s), shown ${lateShown}/${lateSent} then, arrival delay p95 ${f(lateArrivalP95, 0)} ms ` +
      `(reports); shown ${shown}/${sentFrames} sent (${f((100 * shown) / Math.max(1, sentFrames))} %), ` +
      `${snd.framesSent} encoded, ${snd.framesDropped} dropped unsent, ${end.page.skippedTicks} ticks skipped (encoder busy), ` +
      `${end.page.keyFrames} key frames, ${snd.keyRequests} key requests, ${snd.reports} reports, estimate ${f(snd.estimateKbps, 0)} kbps, ` +
      `encode ${f(end.page.encodeMs / Math.max(1, end.page.pushed))} ms; server lost ${srv.frames_lost}, no reference ` +
      `${srv.frames_no_reference}, late ${srv.frames_late}, corrupt ${srv.frames_corrupt}, packets ${srv.packets} (stale ` +
      `${srv.packets_stale}, dropped ${srv.packets_dropped}, rejected ${srv.packets_rejected}); relay up ${rs.up.datagrams} datagrams, ` +
      `loss ${rs.up.lossDrops}, queue drops ${rs.up.queueDrops} (${f(100 * queueDropFraction)} % from 5 s after the drop), ` +
      `max queue ${f(rs.up.maxQueueMs, 0)} ms; down ${rs.down.datagrams}, loss ${rs.down.lossDrops}, queue drops ${rs.down.queueDrops}; ` +
      `browser sources ${rs.sources.join(' ')}`,
  );
  const trace = await page.evaluate(() => window.relayRun.trace);
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(
    join(ARTIFACTS, 'relay-trace.json'),
    JSON.stringify({ seed: SEED, minKbps: MIN_KBPS, rows, samples, frames: trace }, null, 1),
  );
  if (VERBOSE) console.log(`relay: final stats ${JSON.stringify(srv)}; page ${JSON.stringify({ ...end.page, reports: undefined })}`);

  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  assert.deepEqual(end.page.errors, [], 'pushes that failed');
  assert.equal(end.page.closedEarly, false, 'the data channel closed while streaming');
  assert.equal(srv.state, 'connected', `session: ${JSON.stringify(srv)}`);
  assert.equal(srv.frames_corrupt, 0, `corrupt frames: ${JSON.stringify(srv)}`);
  assert.equal(srv.packets_rejected, 0, `rejected packets: ${JSON.stringify(srv)}`);
  assert.ok(
    shown >= SHOWN_FRACTION * sentFrames,
    `the server showed ${shown} of ${sentFrames} frames sent: ${JSON.stringify(srv)}\nserver log:\n${logTail()}`,
  );
  assert.ok(
    lateShown >= LATE_SHOWN_FRACTION * lateSent,
    `in the last 20 s the server showed ${lateShown} of ${lateSent} frames sent: the stream did not survive the drop`,
  );
  assert.ok(
    lateKbps <= LATE_KBPS_MAX && lateKbps >= LATE_KBPS_MIN,
    `the server received ${f(lateKbps)} kbps in the last 20 s at a ${PHASES[1].kbps} kbps link (want ${LATE_KBPS_MIN}..${LATE_KBPS_MAX})`,
  );
  const p95Before = atDrop.server.delay_p95_ms;
  const p95End = last.server.delay_p95_ms;
  assert.ok(p95End <= P95_END_MAX_MS, `delay p95 ${f(p95End)} ms at the end > ${P95_END_MAX_MS} ms`);
  assert.ok(
    p95End <= p95Before + P95_RISE_MAX_MS,
    `delay p95 rose from ${f(p95Before)} ms before the drop to ${f(p95End)} ms at the end (> ${P95_RISE_MAX_MS} ms)`,
  );
  assert.ok(
    lateArrivalP95 <= ARRIVAL_P95_MAX_MS,
    `the receiver reports' arrival delay p95 over the last 20 s is ${f(lateArrivalP95, 0)} ms > ${ARRIVAL_P95_MAX_MS} ms ` +
      `(${lateArrival.length} reports)`,
  );
  assert.ok(
    queueDropFraction <= QUEUE_DROP_MAX,
    `the relay's queue dropped ${upAfter.queueDrops} of ${upAfter.datagrams} datagrams from 5 s after the drop ` +
      `(${f(100 * queueDropFraction)} % > ${QUEUE_DROP_MAX * 100} %): the sender kept it full`,
  );
});
