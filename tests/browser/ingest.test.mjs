// End to end: `aic serve`'s WebRTC ingest driven by headless Chromium. A page on another origin
// encodes a fake camera (the real clip tests/fixtures/generated/clips/talking-320x240.y4m, made
// by `scripts/fetch-clips.sh --tests-only`) with the npm package's AicEncoder (CPU backend,
// live video at 300 kbps), signals a peer connection to the server over WHIP (`POST /v1/whip`,
// no trickle: the server is ICE-lite with one host candidate on 127.0.0.1), and sends the AIC
// packets (AicSender) on an unordered, unreliable data channel for a few seconds; it answers the
// server's key-frame requests and counts its receiver reports (docs/format.md §10). The test
// then checks the session's stats (`GET /v1/sessions/{id}`), compares the server's latest
// decoded frame (`frame.png`, `x-aic-seq`) with exactly the picture the encoder was given for
// that sequence number, and reads the admin endpoint's Prometheus counters; streams on with one
// frame withheld (the server must declare it lost, ask for a key frame, and recover once the
// page answers with one); closes the session and reads its Y4M recording. Two more tests: a
// closed session answers 404, a garbage offer 400 `bad_sdp`.
//
// Needs the native binary with `serve` ($AIC_BIN, else $CARGO_TARGET_DIR or ~/.cache/aic/target,
// debug/aic) and the built package (npm/dist). The server's log goes to
// $AIC_ARTIFACTS/ingest-server.log (AIC_VERBOSE=1 echoes it and the page's console).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ARTIFACTS,
  ROOT,
  VERBOSE,
  checkPrerequisites,
  installKit as installSharedKit,
  launchBrowser,
  authorized,
  sessionStats,
  startServer,
  stopServer,
} from './aic-serve.mjs';
import { serve } from './server.mjs';

const RECORD_DIR = mkdtempSync(join(tmpdir(), 'aic-ingest-'));

const TARGET_KBPS = 300;
const FPS = 10; // the rate the page encodes at (at most; a slower encoder sets the pace)
const FLOW_MS = 5000;
const LOSS_FLOW_MS = 2500; // the second phase, with one frame withheld
const KEEP_FRAMES = 60; // pictures kept by sequence number, to score frame.png against
const PACKET_BYTES = 16 * 1024;
/**
 * RGB PSNR floor of the server's latest decoded frame against exactly the picture the browser's
 * encoder was given for that sequence number (a browser-encoded stream decoded natively by the
 * debug `aic serve`, over a real data channel). Measured here (2-core VM with a cargo build
 * running beside, CPU backend, 300 kbps at ≈ 10 fps, ≈ 275 kbps spent, encode ≈ 25 ms a frame):
 * 33.40–33.86 dB after the first 5 s over six runs, 32.99–33.11 dB for the last frame of the
 * phase with a lost frame (≈ 2 s after the key frame that answered the request). 27 dB is the
 * demo's floor (tests/browser/demo.test.mjs, same clip and bitrate), ≈ 6 dB under these, and far
 * above a frame paired with the wrong original, a reference-less delta decode or swapped channels.
 */
const PSNR_FLOOR_DB = 27;
/** Shown frames at least this fraction of the frames sent (loopback: nothing should be lost). */
const SHOWN_FRACTION = 0.7;

let server; // the `aic serve` child: { proc, http, admin, udp, log() }
let pages; // the static server for the page (the repository root)
let browser;
let page;
let mainSession = null; // { id, url } of the streaming session, once created
const pageErrors = [];

/** The last `n` characters of the server's log, for failure messages. */
const logTail = (n = 4000) => (server ? server.log().slice(-n) : '(server not started)');

const killOnExit = () => server?.proc.kill('SIGKILL');

before(async () => {
  checkPrerequisites();
  process.once('exit', killOnExit);
  server = await startServer({ recordDir: RECORD_DIR });
  console.log(`ingest: ${server.line}`);
  pages = await serve(ROOT);
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('console', (m) => {
    // The 404 of a closed session (asked for on purpose) is logged by Chromium as an error.
    const expected = /Failed to load resource: .* status of 404/.test(m.text());
    if ((m.type() === 'error' && !expected) || VERBOSE) console.log(`[page] ${m.text()}`);
  });
  page.on('pageerror', (e) => {
    pageErrors.push(e.message);
    console.log(`[page error] ${e.message}`);
  });
  // harness.html exposes the package as window.aic and the image helpers as window.h.
  await page.goto(`${pages.url}/tests/browser/pages/harness.html`);
  await page.waitForFunction('window.harnessReady === true', null, { timeout: 120_000, polling: 250 });
});

after(async () => {
  // A session left open by a failed test would hold the server's drain (below) for its
  // drain_seconds: end it first.
  if (mainSession && !mainSession.deleted) await fetch(mainSession.url, authorized({ method: 'DELETE' })).catch(() => {});
  await browser?.close();
  await pages?.close();
  if (server) {
    await stopServer(server, 'ingest');
    process.removeListener('exit', killOnExit);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'ingest-server.log'), server.log());
  }
  rmSync(RECORD_DIR, { recursive: true, force: true });
});

/**
 * In the page: the shared kit (window.ingestKit: `whip`, `diag`, see aic-serve.mjs) and
 * `stream`, which the steps below use.
 */
async function installKit() {
  await installSharedKit(page);
  await page.evaluate(() => {
    Object.assign(window.ingestKit, {
      /**
       * Streams the camera for `flowMs` at most `fps` frames a second: each frame's RGBA is kept
       * by its sequence number (the last `keep`), encoded and sent in packets of at most
       * `packetBytes`; the frame number `withholdAt` is encoded but not sent (a lost frame).
       */
      async stream({ flowMs, fps, keep, packetBytes, withholdAt }) {
        const s = window.ingest;
        // One sender and one reader for the whole session: the packetizer's frame ids go on.
        s.sender ??= new window.aic.AicSender(s.channel, { maxPacketBytes: packetBytes });
        s.reader ??= new MediaStreamTrackProcessor({ track: s.track }).readable.getReader();
        const canvas = new OffscreenCanvas(1, 1);
        const ctx = canvas.getContext('2d', { willReadFrequently: true });
        const out = { frames: 0, packets: 0, bytes: 0, keyFrames: 0, firstSeq: null, lastSeq: null, withheldSeq: null };
        Object.assign(out, { encodeMs: 0, keysAfterWithheld: 0, error: null });
        const t0 = performance.now();
        let next = t0;
        let index = 0;
        while (performance.now() - t0 < flowMs) {
          const { value: frame, done } = await s.reader.read();
          if (done) {
            out.error = 'the camera track ended';
            break;
          }
          if (performance.now() < next) {
            frame.close();
            continue;
          }
          next = Math.max(next + 1000 / fps, performance.now());
          const width = frame.displayWidth;
          const height = frame.displayHeight;
          const rgba = new Uint8ClampedArray(width * height * 4);
          try {
            await frame.copyTo(rgba, { format: 'RGBA' });
          } catch {
            if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
            ctx.drawImage(frame, 0, 0, width, height);
            rgba.set(ctx.getImageData(0, 0, width, height).data);
          }
          frame.close();
          const image = new ImageData(rgba, width, height);
          const bytes = await s.encoder.encode(image);
          out.encodeMs += s.encoder.lastStats.encodeMs;
          const kind = s.encoder.lastStats.kind;
          if (kind === 'key') {
            out.keyFrames++;
            if (out.withheldSeq !== null) out.keysAfterWithheld++;
          }
          if (s.keyPending && kind === 'key') {
            s.keyHonoured++;
            s.keyPending = false;
          }
          // docs/format.md §2.2: the frame's sequence number, u32 LE at byte 24.
          const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(24, true);
          s.frames.set(seq, image);
          while (s.frames.size > keep) s.frames.delete(s.frames.keys().next().value);
          if (s.channel.readyState !== 'open') {
            out.error = `the data channel is ${s.channel.readyState}`;
            break;
          }
          if (index++ === withholdAt) {
            out.withheldSeq = seq;
          } else {
            out.packets += s.sender.send(bytes);
            out.bytes += bytes.length;
            out.frames++;
          }
          out.firstSeq ??= seq;
          out.lastSeq = seq;
        }
        out.ms = performance.now() - t0;
        return out;
      },
    });
  });
}

/**
 * Polls a session's stats until the server has shown `lastSeq` (the last frame sent), or
 * nothing changes for 2 s, or 20 s pass; returns the last stats.
 */
async function settledStats(url, lastSeq) {
  const deadline = Date.now() + 20_000;
  let last = '';
  let sameSince = Date.now();
  for (;;) {
    const r = await sessionStats(url);
    assert.equal(r.status, 200, `GET ${url} answered ${r.status}: ${JSON.stringify(r.body)}`);
    const stats = r.body;
    if (stats.last_seq === lastSeq || Date.now() > deadline) return stats;
    const key = JSON.stringify([stats.frames_shown, stats.frames_late, stats.frames_lost, stats.packets]);
    if (key !== last) {
      last = key;
      sameSince = Date.now();
    } else if (Date.now() - sameSince > 2000) return stats;
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

/**
 * In the page: fetches the session's frame.png (cross-origin, so `x-aic-seq` must be exposed)
 * and scores it (RGB PSNR) against the picture the encoder was given for that seq.
 */
function scoreFramePng(url) {
  return page.evaluate(async (url) => {
    const res = await fetch(`${url}/frame.png`, { headers: window.ingestKit.headers() });
    if (res.status !== 200) return { status: res.status, error: await res.text() };
    const seqHeader = res.headers.get('x-aic-seq');
    const bitmap = await createImageBitmap(await res.blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const c = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    const got = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    const ref = window.ingest.frames.get(Number(seqHeader));
    const kept = [...window.ingest.frames.keys()];
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      seqHeader,
      size: [got.width, got.height],
      kept: [kept[0], kept[kept.length - 1]],
      psnr: ref && ref.width === got.width && ref.height === got.height ? window.h.psnr(ref, got) : null,
    };
  }, url);
}

/** Checks a scored frame.png (see scoreFramePng). */
function assertShot(shot) {
  assert.equal(shot.status, 200, `frame.png answered ${shot.status}: ${shot.error}`);
  assert.match(String(shot.contentType), /^image\/png/);
  assert.match(String(shot.seqHeader), /^\d+$/, `x-aic-seq: ${shot.seqHeader} (is it exposed to the page?)`);
  assert.deepEqual(shot.size, [320, 240], 'frame.png has the camera clip size');
  assert.ok(
    shot.psnr !== null,
    `frame.png is seq ${shot.seqHeader}, not one of the frames kept (${shot.kept[0]}..${shot.kept[1]})`,
  );
  assert.ok(shot.psnr >= PSNR_FLOOR_DB, `frame.png (seq ${shot.seqHeader}): PSNR ${shot.psnr} dB < ${PSNR_FLOOR_DB} dB`);
}

/** The feedback the page has received so far. */
function feedback() {
  return page.evaluate(() => {
    const s = window.ingest;
    return {
      messages: s.messages,
      reports: s.reports,
      keyRequests: s.keyRequests,
      keyHonoured: s.keyHonoured,
      otherMessages: s.otherMessages,
      lastReport: s.lastReport,
      reportedLost: s.reportedLost,
      closedEarly: s.closedEarly,
    };
  });
}

const f = (x, d = 1) => (typeof x === 'number' ? x.toFixed(d) : String(x));

test('ingest: browser → WHIP → data channel → server decode, stats, frame.png, feedback, metrics, recording', async () => {
  await installKit();
  // 1. Encoder, camera, peer connection, WHIP, channel open.
  const connect = await page.evaluate(
    async ({ http, kbps, fps }) => {
      const { AicEncoder } = window.aic;
      const encoder = await AicEncoder.create({ backend: 'cpu', quality: 3 });
      await encoder.setTargetBitrate(kbps, fps);
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 320, height: 240, frameRate: { ideal: 25 } },
        audio: false,
      });
      const [track] = stream.getVideoTracks();
      const pc = new RTCPeerConnection();
      const channel = pc.createDataChannel('aic', { ordered: false, maxRetransmits: 0 });
      channel.binaryType = 'arraybuffer';
      const s = {
        encoder,
        track,
        pc,
        channel,
        sender: null, // AicSender and camera reader, made by ingestKit.stream
        reader: null,
        frames: new Map(), // seq → ImageData given to the encoder (the last KEEP_FRAMES)
        messages: 0,
        reports: 0,
        keyRequests: 0,
        keyPending: false,
        keyHonoured: 0,
        otherMessages: 0,
        lastReport: null,
        reportedLost: 0,
        closedEarly: false,
      };
      window.ingest = s;
      channel.onmessage = (ev) => {
        s.messages++;
        const b = ev.data instanceof ArrayBuffer ? new Uint8Array(ev.data) : new Uint8Array(0);
        // docs/format.md §10: "AF", version 1, kind; the length is fixed by the kind.
        if (b.length >= 4 && b[0] === 0x41 && b[1] === 0x46 && b[2] === 1) {
          const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
          if (b[3] === 1 && b.length === 12) {
            s.keyRequests++;
            s.keyPending = true;
            encoder.requestKeyFrame();
            return;
          }
          if (b[3] === 2 && b.length === 24) {
            s.reports++;
            s.lastReport = {
              highestSeq: v.getUint32(4, true),
              framesReceived: v.getUint16(8, true),
              framesLost: v.getUint16(10, true),
              bytesReceived: v.getUint32(12, true),
              intervalMs: v.getUint16(16, true),
              queueDelayMs: v.getUint16(18, true),
            };
            s.reportedLost += s.lastReport.framesLost;
            return;
          }
        }
        s.otherMessages++;
      };
      channel.onclose = () => (s.closedEarly = true);
      const opened = new Promise((ok) => channel.addEventListener('open', ok, { once: true }));
      const whip = await window.ingestKit.whip(http, pc);
      if (whip.status !== 201) return { whip };
      const open = await Promise.race([opened.then(() => true), new Promise((ok) => setTimeout(() => ok(false), 20_000))]);
      return { whip, open, diag: open ? null : await window.ingestKit.diag(pc), backend: encoder.backend };
    },
    { http: server.http, kbps: TARGET_KBPS, fps: FPS },
  );
  assert.equal(
    connect.whip.status,
    201,
    `POST /v1/whip answered ${connect.whip.status}: ${connect.whip.error}\nserver log:\n${logTail()}`,
  );
  assert.match(String(connect.whip.contentType), /^application\/sdp/, 'the answer is application/sdp');
  const loc = String(connect.whip.location);
  assert.match(loc, /^\/v1\/sessions\/[^/]+$/, `Location: ${loc}`);
  const id = decodeURIComponent(loc.split('/').pop());
  mainSession = { id, url: new URL(loc, server.http).href };
  assert.ok(
    connect.open,
    `the data channel did not open within 20 s.\npeer connection: ${JSON.stringify(connect.diag, null, 1)}\n` +
      `answer SDP:\n${connect.whip.answer}\nsession stats: ${JSON.stringify((await sessionStats(mainSession.url)).body)}\n` +
      `server log:\n${logTail()}`,
  );
  assert.equal(connect.backend, 'cpu');

  // 2. Stream: camera frame → RGBA (kept by seq) → encode → packets on the channel.
  const flow = await page.evaluate((o) => window.ingestKit.stream(o), {
    flowMs: FLOW_MS,
    fps: FPS,
    keep: KEEP_FRAMES,
    packetBytes: PACKET_BYTES,
    withholdAt: -1,
  });
  assert.equal(flow.error, null, `streaming stopped: ${flow.error}\nserver log:\n${logTail()}`);
  assert.ok(flow.frames >= 10, `only ${flow.frames} frames encoded and sent in ${FLOW_MS} ms`);

  // 3. Let the server decode what is queued, then score its latest frame.
  const stats = await settledStats(mainSession.url, flow.lastSeq);
  const shot = await scoreFramePng(mainSession.url);

  // 4. Feedback seen by the page, and the server's counters.
  const fb = await feedback();
  // Read after the page's count: the server counts a message before it reaches the page.
  const feedbackSent = (await sessionStats(mainSession.url)).body.feedback_sent;
  const metricsText = await (await fetch(`${server.admin}/metrics`)).text();
  const decodeLine = metricsText.split('\n').find((l) => /^aic_frames_total\{[^}]*op="ingest_decode"[^}]*\}\s/.test(l));
  const ingestDecoded = decodeLine ? Number(decodeLine.trim().split(/\s+/).pop()) : null;

  console.log(
    `ingest: sent ${flow.frames} frames (${flow.keyFrames} key, seq ${flow.firstSeq}..${flow.lastSeq}) in ${f(flow.ms / 1000, 2)} s ` +
      `= ${f(flow.frames / (flow.ms / 1000))} fps, ${flow.packets} packets, ${f((flow.bytes * 8) / flow.ms)} kbps, ` +
      `encode ${f(flow.encodeMs / Math.max(1, flow.frames))} ms; server: ${stats.frames_shown} shown ` +
      `(${f((100 * stats.frames_shown) / flow.frames)} %), late ${stats.frames_late}, no reference ${stats.frames_no_reference}, ` +
      `corrupt ${stats.frames_corrupt}, lost ${stats.frames_lost}, packets ${stats.packets} (dropped ${stats.packets_dropped}, ` +
      `rejected ${stats.packets_rejected}), last seq ${stats.last_seq}, ${stats.width}x${stats.height}, ` +
      `delay p50 ${f(stats.delay_p50_ms)} ms p95 ${f(stats.delay_p95_ms)} ms; frame.png seq ${shot.seqHeader} ` +
      `PSNR ${f(shot.psnr, 2)} dB; feedback ${fb.messages} messages (${fb.reports} reports, ${fb.keyRequests} key requests, ` +
      `${fb.keyHonoured} honoured), server sent ${feedbackSent}; metrics ingest_decode ${ingestDecoded}`,
  );
  if (VERBOSE) console.log(`ingest: stats ${JSON.stringify(stats)}; last report ${JSON.stringify(fb.lastReport)}`);

  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  assert.equal(stats.id, id, 'the stats name the session');
  assert.equal(stats.state, 'connected', `session state: ${JSON.stringify(stats)}`);
  assert.equal(fb.closedEarly, false, 'the data channel closed while streaming');
  assert.deepEqual([stats.width, stats.height], [320, 240], `stats size: ${JSON.stringify(stats)}`);
  assert.ok(
    stats.frames_shown >= SHOWN_FRACTION * flow.frames,
    `the server showed ${stats.frames_shown} of ${flow.frames} frames sent: ${JSON.stringify(stats)}\nserver log:\n${logTail()}`,
  );
  assert.equal(stats.frames_corrupt, 0, `corrupt frames: ${JSON.stringify(stats)}`);
  assert.equal(stats.packets_rejected, 0, `rejected packets: ${JSON.stringify(stats)}`);
  assert.ok(stats.packets > 0 && stats.packets <= flow.packets, `server packets ${stats.packets}, sent ${flow.packets}`);
  assertShot(shot);

  assert.ok(fb.reports >= 1, `the page received no receiver report (feedback: ${JSON.stringify(fb)})`);
  assert.equal(fb.otherMessages, 0, `messages on the channel that are no feedback: ${JSON.stringify(fb)}`);
  if (fb.keyRequests > 0) assert.ok(fb.keyHonoured >= 1, `key-frame requests not honoured: ${JSON.stringify(fb)}`);
  assert.ok(feedbackSent >= fb.messages, `server sent ${feedbackSent} feedback messages, page got ${fb.messages}`);
  assert.ok(ingestDecoded > 0, `admin /metrics has no aic_frames_total{op="ingest_decode"} > 0:\n${decodeLine ?? metricsText}`);
  assert.ok(ingestDecoded >= stats.frames_shown, `ingest_decode ${ingestDecoded} < frames shown ${stats.frames_shown}`);

  // 5. A lost frame: one frame is encoded but not sent. The server declares it lost, the
  // deltas after it have no reference, it asks for a key frame (§10.1), the page's encoder
  // answers with one, and the stream recovers: the last frame sent is shown and scores as above.
  const lossFlow = await page.evaluate((o) => window.ingestKit.stream(o), {
    flowMs: LOSS_FLOW_MS,
    fps: FPS,
    keep: KEEP_FRAMES,
    packetBytes: PACKET_BYTES,
    withholdAt: 5,
  });
  assert.equal(lossFlow.error, null, `streaming stopped: ${lossFlow.error}\nserver log:\n${logTail()}`);
  const stats2 = await settledStats(mainSession.url, lossFlow.lastSeq);
  const shot2 = await scoreFramePng(mainSession.url);
  const fb2 = await feedback();
  const d = (k) => stats2[k] - stats[k];
  console.log(
    `ingest: loss: sent ${lossFlow.frames} frames (seq ${lossFlow.firstSeq}..${lossFlow.lastSeq}, ${lossFlow.withheldSeq} withheld, ` +
      `${lossFlow.keysAfterWithheld} key frames after it); server: ${d('frames_shown')} shown, lost ${d('frames_lost')}, ` +
      `no reference ${d('frames_no_reference')}, late ${d('frames_late')}, corrupt ${d('frames_corrupt')}, last seq ${stats2.last_seq}; ` +
      `key requests ${fb2.keyRequests - fb.keyRequests} (honoured ${fb2.keyHonoured - fb.keyHonoured}); ` +
      `frame.png seq ${shot2.seqHeader} PSNR ${f(shot2.psnr, 2)} dB; delay p50 ${f(stats2.delay_p50_ms)} ms p95 ${f(stats2.delay_p95_ms)} ms`,
  );
  assert.notEqual(lossFlow.withheldSeq, null, 'a frame was withheld');
  assert.ok(d('frames_lost') >= 1, `the withheld frame was not declared lost: ${JSON.stringify(stats2)}`);
  assert.ok(fb2.keyRequests > fb.keyRequests, `no key-frame request after a lost frame: ${JSON.stringify(fb2)}\n${JSON.stringify(stats2)}`);
  assert.ok(fb2.keyHonoured > fb.keyHonoured && lossFlow.keysAfterWithheld >= 1, `the key-frame request was not answered: ${JSON.stringify(fb2)}`);
  assert.equal(stats2.frames_corrupt, 0, `corrupt frames: ${JSON.stringify(stats2)}`);
  assert.equal(stats2.packets_rejected, 0, `rejected packets: ${JSON.stringify(stats2)}`);
  assert.equal(stats2.last_seq, lossFlow.lastSeq, `the stream did not recover: ${JSON.stringify(stats2)}`);
  assertShot(shot2);
  assert.equal(stats2.state, 'connected');

  // 6. Close the session; its recording is a Y4M of the clip's size.
  const del = await fetch(mainSession.url, authorized({ method: 'DELETE' }));
  mainSession.deleted = true;
  await page.evaluate(() => window.ingest.pc.close());
  assert.ok(del.status >= 200 && del.status < 300, `DELETE ${mainSession.url} answered ${del.status}`);
  const recording = join(RECORD_DIR, `${id}.y4m`);
  const deadline = Date.now() + 10_000;
  while (!existsSync(recording) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 200));
  assert.ok(existsSync(recording), `no recording ${recording} (record dir holds: ${readdirSync(RECORD_DIR).join(', ') || 'nothing'})`);
  const head = readFileSync(recording).subarray(0, 200).toString('latin1');
  const header = head.split('\n')[0];
  assert.match(header, /^YUV4MPEG2 W320 H240/, `recording header: ${JSON.stringify(header)}`);
  // Every shown frame: "FRAME\n" and the I420 picture.
  const recorded = (statSync(recording).size - header.length - 1) / (6 + (320 * 240 * 3) / 2);
  console.log(`ingest: recording ${recording}: header "${header}", ${recorded} frames`);
  assert.equal(recorded, stats2.frames_shown, 'the recording holds every shown frame');
});

test('ingest: a session closed with DELETE answers 404', async () => {
  await installKit();
  const r = await page.evaluate(async (http) => {
    const pc = new RTCPeerConnection();
    pc.createDataChannel('aic', { ordered: false, maxRetransmits: 0 });
    const whip = await window.ingestKit.whip(http, pc);
    if (whip.status !== 201) return { whip };
    const url = new URL(whip.location, http).href;
    const before = await fetch(url, { headers: window.ingestKit.headers() });
    const beforeBody = await before.json().catch(() => null);
    // From the page: the DELETE goes through a CORS preflight.
    const del = await fetch(url, { method: 'DELETE', headers: window.ingestKit.headers() });
    const afterRes = await fetch(url, { headers: window.ingestKit.headers() });
    const afterBody = await afterRes.json().catch(() => null);
    pc.close();
    return { whip, url, before: before.status, beforeBody, del: del.status, after: afterRes.status, afterBody };
  }, server.http);
  assert.equal(r.whip.status, 201, `POST /v1/whip answered ${r.whip.status}: ${r.whip.error}`);
  assert.notEqual(decodeURIComponent(r.url.split('/').pop()), mainSession?.id, 'a new session id');
  assert.equal(r.before, 200, `GET before DELETE: ${r.before} ${JSON.stringify(r.beforeBody)}`);
  assert.ok(r.del >= 200 && r.del < 300, `DELETE answered ${r.del}`);
  assert.equal(r.after, 404, `GET after DELETE answered ${r.after}: ${JSON.stringify(r.afterBody)}`);
  assert.equal(typeof r.afterBody?.error?.code, 'string', `404 body: ${JSON.stringify(r.afterBody)}`);
});

test('ingest: a garbage SDP offer answers 400 bad_sdp; without a token, 401', async () => {
  const origin = 'http://127.0.0.1:5173';
  const offer = (init) =>
    fetch(`${server.http}/v1/whip`, {
      method: 'POST',
      ...init,
      headers: { 'Content-Type': 'application/sdp', Origin: origin, ...init.headers },
      body: 'this is not an SDP offer\r\n',
    });
  const anonymous = await offer({});
  assert.equal(anonymous.status, 401, await anonymous.text());
  const res = await offer(authorized());
  const text = await res.text();
  assert.equal(res.status, 400, `answered ${res.status}: ${text}`);
  let body;
  assert.doesNotThrow(() => (body = JSON.parse(text)), `the 400 body is not JSON: ${text}`);
  assert.equal(body.error?.code, 'bad_sdp', `body: ${text}`);
  assert.equal(res.headers.get('access-control-allow-origin'), origin, 'CORS header on errors (a loopback origin)');
});
