// The Vite app, built from the packed tarball (`vite build`), served on loopback and opened in
// headless Chromium: it must encode and decode a frame with the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve } from '../browser/server.mjs';
import { openPage } from '../browser/chromium.mjs';

const DIST = fileURLToPath(new URL('./dist', import.meta.url));

test('a Vite app using @auralink/aic from the tarball encodes and decodes in Chromium', async () => {
  assert.ok(existsSync(DIST), 'run `npx vite build` first (scripts/test.sh does)');
  const server = await serve(DIST);
  const { browser, page } = await openPage(`${server.url}/`, 'window.result !== undefined');
  try {
    const r = await page.evaluate(() => window.result);
    assert.ok(r.ok, `${r.code}: ${r.error}`);
    assert.equal(r.codec, 'neural');
    // Chromium's only adapter here is SwiftShader, a fallback one: 'auto' stays on the CPU
    // module and says why; asking for WebGPU fetches the WebGPU module, which the bundle holds.
    assert.equal(r.backend, 'cpu');
    assert.match(r.backendNote, /fallback/);
    assert.equal(r.gpuBackend, 'webgpu');
    assert.ok(r.gpuDiff <= 1, `WebGPU decode differs by ${r.gpuDiff}`);
    assert.equal(r.wasmFiles.filter((n) => n.endsWith('.safetensors')).length, 1, r.wasmFiles.join());
    assert.equal(r.wasmFiles.filter((n) => n.endsWith('.wasm')).length, 2, r.wasmFiles.join());
    assert.deepEqual([r.width, r.height], [128, 96]);
    assert.ok(r.psnr > 28, `PSNR ${r.psnr}`);
  } finally {
    await browser.close();
    await server.close();
  }
});
