// Opens pages/bench.html in headless Chromium and prints ms per frame (medians) at 320x240
// and 640x480 for each backend, with the browser's JPEG as the baseline of the same run, the
// time to load each backend and its first frame, and what the page downloaded.
// Usage: node bench.mjs [--n 10] [--backends cpu,webgpu] [--workers] [--gpu] [--json out.json]
//        node bench.mjs --video [--clip URL] [--width 640] [--height 480] [--frames 60] [--kbps 300]
//   --video    live video (pages/bench-video.html): a clip at a bitrate, AIC with threads and
//              with one thread (Workers) against the browser's VP8 (WebCodecs) in the same run
//   --workers  the AIC rows run in module Workers (as an app's codec Worker): the CPU with
//              threads (the threaded module; the test server sends COOP/COEP) and with one
//   --gpu  Chromium on the machine's GPU (Vulkan through ANGLE, a hardware WebGPU adapter) and
//          only the WebGPU backend unless --backends says otherwise; it stops with exit code 2
//          when the adapter it gets is a software one (no GPU: nothing to measure).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve } from './server.mjs';
import { openPage, GPU_FLAGS } from './chromium.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const n = opt('--n', '10');
const gpu = args.includes('--gpu');
const workers = args.includes('--workers');
const backends = opt('--backends', gpu ? 'webgpu' : 'cpu,webgpu');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const server = await serve(ROOT);
if (args.includes('--video')) {
  // Live video: AIC (threads and one thread, in Workers) against the browser's VP8.
  const params = new URLSearchParams({
    clip: opt('--clip', '/tests/fixtures/generated/clips/talking-320x240.y4m'),
    width: opt('--width', '640'),
    height: opt('--height', '480'),
    frames: opt('--frames', '60'),
    kbps: opt('--kbps', '300'),
    fps: opt('--fps', '25'),
  });
  const { browser, page } = await openPage(
    `${server.url}/tests/browser/pages/bench-video.html?${params}`,
    'window.benchResult !== undefined',
    30 * 60_000,
  );
  const r = await page.evaluate(() => window.benchResult);
  await browser.close();
  await server.close();
  if (!r.ok) {
    console.error(`benchmark failed: ${r.code}: ${r.error}`);
    process.exit(1);
  }
  console.log(`${r.userAgent}\n${r.cores} logical cores; ${r.clip} at ${r.width}x${r.height}, ${r.frames} frames (medians after 5), ${r.kbps} kbps, ${r.fps} fps`);
  console.log('codec                        threads  encode ms  decode ms    kbps  skipped');
  for (const x of r.results) {
    console.log(
      `${x.codec.padEnd(28)} ${String(x.threads ?? '-').padStart(7)} ${x.encodeMs.toFixed(1).padStart(10)} ${x.decodeMs.toFixed(1).padStart(10)} ${x.kbps.toFixed(0).padStart(7)}  ${x.skippedFraction == null ? '-' : `${(100 * x.skippedFraction).toFixed(0)} %`}`,
    );
  }
  const out = opt('--json', null);
  if (out) writeFileSync(out, JSON.stringify(r, null, 1) + '\n');
  process.exit(0);
}
const { browser, page } = await openPage(
  `${server.url}/tests/browser/pages/bench.html?n=${n}&backends=${backends}${workers ? '&workers=1' : ''}`,
  'window.benchResult !== undefined',
  30 * 60_000,
  gpu ? GPU_FLAGS : undefined,
);
const r = await page.evaluate(() => window.benchResult);
await browser.close();
await server.close();
const software = (a) => !a || a.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(JSON.stringify(a));
if (!r.ok) {
  console.error(`benchmark failed: ${r.code}: ${r.error}`);
  if (gpu && software(r.adapter)) {
    console.error(`no hardware WebGPU adapter on this machine (${JSON.stringify(r.adapter)}): nothing to measure; run this where there is a GPU`);
    process.exit(2);
  }
  process.exit(1);
}
console.log(`${r.userAgent}\n${r.cores} logical cores; ${r.n} frames after 2 warm-up frames; medians`);
console.log(`WebGPU adapter: ${JSON.stringify(r.adapter)}; cross-origin isolated: ${r.crossOriginIsolated}`);
for (const [file, d] of Object.entries(r.downloads)) console.log(`downloaded ${file}: ${d.bodyBytes} bytes`);
console.log('codec              backend     size      encode ms  decode ms   bytes    bpp   enc×jpeg dec×jpeg');
for (const x of r.results) {
  const jpeg = r.results.find((j) => j.size === x.size && j.backend === 'browser');
  console.log(
    `${x.codec.padEnd(18)} ${(x.backend + (x.where === 'worker' ? (x.threads ? ` ×${x.threads}` : ' ×1') : '')).padEnd(11)} ${x.size.padEnd(9)} ${x.encodeMs.toFixed(1).padStart(9)} ${x.decodeMs
      .toFixed(1)
      .padStart(10)} ${String(x.bytes).padStart(7)} ${x.bpp.toFixed(3).padStart(6)} ${(x.encodeMs / jpeg.encodeMs)
      .toFixed(1)
      .padStart(9)} ${(x.decodeMs / jpeg.decodeMs).toFixed(1).padStart(8)}`,
  );
}
for (const x of r.results.filter((x) => x.createMs !== undefined)) {
  console.log(
    `${x.backend}${x.where === 'worker' ? ` (worker, ${x.threads || 1} thread${x.threads > 1 ? 's' : ''})` : ''}: load ${x.createMs.toFixed(0)} ms, first frame at ${x.size}: encode ${x.firstEncodeMs.toFixed(1)} ms, decode ${x.firstDecodeMs.toFixed(1)} ms${x.backendNote ? ` (${x.backendNote})` : ''}${x.threadsNote ? ` (${x.threadsNote})` : ''}`,
  );
}
const json = opt('--json', null);
if (json) writeFileSync(json, JSON.stringify(r, null, 1) + '\n');
if (gpu && software(r.adapter)) {
  console.error('no hardware WebGPU adapter on this machine: the figures above are a software rasteriser\'s, not a GPU\'s');
  process.exit(2);
}
