// Shared by the tests that stream from headless Chromium to the native server
// (ingest.test.mjs, relay.test.mjs): the paths, the prerequisite checks, `aic serve` started on
// loopback ports and stopped with a drain, the browser with a fake camera playing the real clip,
// and the page-side kit (WHIP signaling, peer-connection diagnostics).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, FLAGS } from './chromium.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The fake camera: a real webcam clip (made by `scripts/fetch-clips.sh --tests-only`). */
export const CLIP = join(ROOT, 'tests/fixtures/generated/clips/talking-320x240.y4m');
export const DIST = join(ROOT, 'npm/dist'); // served from the repository root, as harness.html loads it
const TARGET = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/aic/target');
export const AIC = process.env.AIC_BIN ?? join(TARGET, 'debug/aic');
export const ARTIFACTS = process.env.AIC_ARTIFACTS ?? join(homedir(), '.cache/aic/artifacts');
export const VERBOSE = Boolean(process.env.AIC_VERBOSE);

/** Fails with how to fix it when the binary (with `serve`), the clip or the package is missing. */
export function checkPrerequisites() {
  assert.ok(existsSync(AIC), `the native binary ${AIC} is missing: build it: cargo build -p aic-native`);
  try {
    execFileSync(AIC, ['serve', '--help'], { stdio: 'ignore' });
  } catch {
    assert.fail(`${AIC} has no working \`serve\` subcommand (an old build?): build it: cargo build -p aic-native`);
  }
  checkClipAndPackage();
}

/** Fails with how to fix it when the fake-camera clip or the built package is missing. */
export function checkClipAndPackage(clip = CLIP, dist = DIST) {
  assert.ok(
    existsSync(clip),
    `the fake-camera clip ${clip} is missing: make it with \`bash scripts/fetch-clips.sh --tests-only\``,
  );
  assert.ok(
    existsSync(join(dist, 'index.js')) && existsSync(join(dist, 'wasm/aic_cpu_bg.wasm')),
    `${dist} is missing: build the package first (cd npm && npm run build)`,
  );
}

/**
 * Starts `aic serve` on loopback ports chosen by the system (`recordDir`: --record-dir);
 * resolves once it prints its addresses (after loading the model) to
 * { proc, http, admin, udp, workers, backend, line, log() }.
 */
export function startServer({ recordDir } = {}) {
  const args = [
    'serve',
    ...['--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--udp', '127.0.0.1:0'],
    ...(recordDir ? ['--record-dir', recordDir] : []),
  ];
  const proc = spawn(AIC, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (what) => (chunk) => {
    const text = chunk.toString();
    log += text;
    if (VERBOSE) for (const line of text.split('\n').filter(Boolean)) console.log(`[aic serve ${what}] ${line}`);
  };
  proc.stderr.on('data', append('stderr'));
  let stdout = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      fail(new Error(`aic serve printed no address line within 180 s; log:\n${log.slice(-4000)}`));
    }, 180_000);
    proc.on('error', (e) => {
      clearTimeout(timer);
      fail(new Error(`cannot start ${AIC}: ${e.message}`));
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`aic serve exited (${signal ?? code}) before it was ready; log:\n${log.slice(-4000)}`));
    });
    proc.stdout.on('data', (chunk) => {
      append('stdout')(chunk);
      stdout += chunk.toString();
      const m = stdout.match(
        /^aic serve: (http:\/\/\S+) grpc:\/\/\S+ admin (http:\/\/\S+) webrtc udp (\S+) \((\d+) workers?, backend (\S+)\)$/m,
      );
      if (m) {
        clearTimeout(timer);
        // With no secret configured, a loopback server prints an admin development token (before
        // its address line); every session route needs it (docs/server.md, Security).
        const t = stdout.match(/^aic serve: development token \(.*\): (\S+)$/m);
        assert.ok(t, `aic serve printed no development token:\n${stdout}`);
        token = t[1];
        ok({ proc, http: m[1], admin: m[2], udp: m[3], workers: Number(m[4]), backend: m[5], line: m[0], token, log: () => log });
      }
    });
  });
}

/** SIGTERM (the server drains), then SIGKILL if it is still running after 10 s; logs how it went. */
export async function stopServer(server, label) {
  const { proc } = server;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((ok) => proc.once('exit', (code, signal) => ok(signal ?? code)));
  const t0 = Date.now();
  proc.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.kill('SIGKILL');
  }, 10_000);
  const how = await exited;
  clearTimeout(timer);
  const what = killed ? 'did not stop within 10 s of SIGTERM: killed' : `stopped (${how})`;
  console.log(`${label}: aic serve ${what} ${((Date.now() - t0) / 1000).toFixed(1)} s after SIGTERM`);
}

/** The development token of the last server started (admin; loopback only). */
let token = null;

/** `init` with the server's token as `Authorization: Bearer`. */
export function authorized(init = {}) {
  return { ...init, headers: { ...(init.headers ?? {}), Authorization: `Bearer ${token}` } };
}

/** GET a session's stats: { status, body }. */
export async function sessionStats(url) {
  const res = await fetch(url, authorized());
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text() };
}

/** Headless Chromium whose fake camera plays CLIP, allowed to connect to loopback peers. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...FLAGS,
      `--use-file-for-fake-video-capture=${CLIP}`,
      // The server's only candidate is 127.0.0.1; the browser's must be plain addresses, not
      // mDNS names the server cannot resolve.
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
}

/**
 * In the page: functions shared by the tests (installed on window.ingestKit).
 * - `whip(http, pc, {candidatePort})`: offer → POST /v1/whip → answer;
 *   { status, location, contentType, answer, error }. With `candidatePort`, the port of the
 *   answer's host candidates is replaced by it before setRemoteDescription (to route the media
 *   through a relay; the server is ICE-lite and learns the relay's address from the checks).
 * - `diag(pc)`: the peer connection's states and getStats' candidates and pairs (what
 *   chrome://webrtc-internals shows), for failure messages.
 */
export async function installKit(page) {
  await page.evaluate((token) => {
    window.ingestKit = {
      /** Headers with the server's token (WHIP and the session routes need one). */
      headers(more = {}) {
        return { ...more, Authorization: `Bearer ${token}` };
      },
      async whip(http, pc, { candidatePort } = {}) {
        await pc.setLocalDescription(await pc.createOffer());
        const res = await fetch(`${http}/v1/whip`, {
          method: 'POST',
          headers: this.headers({ 'Content-Type': 'application/sdp' }),
          body: pc.localDescription.sdp,
        });
        const text = await res.text();
        const out = {
          status: res.status,
          location: res.headers.get('location'),
          contentType: res.headers.get('content-type'),
          answer: res.status === 201 ? text : null,
          error: res.status === 201 ? null : text,
          candidates: 0,
        };
        if (res.status !== 201) return out;
        let sdp = text;
        if (candidatePort !== undefined) {
          // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ host ...
          sdp = sdp.replace(/^(a=candidate:\S+ \d+ \S+ \d+ \S+ )(\d+)( typ host)/gm, (_, a, _port, b) => {
            out.candidates++;
            return `${a}${candidatePort}${b}`;
          });
          out.answer = sdp;
        }
        await pc.setRemoteDescription({ type: 'answer', sdp });
        return out;
      },
      async diag(pc) {
        const out = {
          connectionState: pc.connectionState,
          iceConnectionState: pc.iceConnectionState,
          iceGatheringState: pc.iceGatheringState,
          signalingState: pc.signalingState,
          transport: null,
          pairs: [],
          candidates: [],
        };
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'transport') {
            out.transport = {
              iceState: s.iceState,
              dtlsState: s.dtlsState,
              iceRole: s.iceRole,
              selectedCandidatePairId: s.selectedCandidatePairId,
            };
          } else if (s.type === 'candidate-pair') {
            out.pairs.push({
              id: s.id,
              state: s.state,
              nominated: s.nominated,
              local: s.localCandidateId,
              remote: s.remoteCandidateId,
              requestsSent: s.requestsSent,
              responsesReceived: s.responsesReceived,
              requestsReceived: s.requestsReceived,
              responsesSent: s.responsesSent,
              bytesSent: s.bytesSent,
              bytesReceived: s.bytesReceived,
            });
          } else if (s.type === 'local-candidate' || s.type === 'remote-candidate') {
            out.candidates.push({
              id: s.id,
              side: s.type,
              address: s.address,
              port: s.port,
              protocol: s.protocol,
              candidateType: s.candidateType,
            });
          }
        });
        return out;
      },
    };
  }, token);
}
