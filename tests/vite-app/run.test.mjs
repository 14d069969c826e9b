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
    assert.equal(r.backend, 'webgpu');
    assert.deepEqual([r.width, r.height], [128, 96]);
    assert.ok(r.psnr > 28, `PSNR ${r.psnr}`);
  } finally {
    await browser.close();
    await server.close();
  }
});
