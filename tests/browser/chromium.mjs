// Headless Chromium for the tests: Debian's /usr/bin/chromium (or $CHROMIUM) through
// playwright-core, which downloads no browser. `--enable-unsafe-webgpu` gives WebGPU on a
// machine without a GPU (SwiftShader's CPU adapter); see ../../docs/browser.md.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const FLAGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-dev-shm-usage',
  // A fake camera (a moving test pattern) that getUserMedia opens without a prompt.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/**
 * Flags for a machine with a GPU (the WebGPU benchmark, `bench.mjs --gpu`): WebGPU on the
 * hardware adapter through Vulkan, the GPU block list ignored, the camera flags kept.
 */
export const GPU_FLAGS = [
  ...FLAGS,
  '--enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan',
  '--use-angle=vulkan',
  '--ignore-gpu-blocklist',
  '--enable-gpu',
];

/**
 * Launches the browser, opens `url` and waits until `ready` (a JS expression) holds; page
 * errors are echoed. `timeout` is in ms; `args` replaces the default flags.
 */
export async function openPage(url, ready = 'window.harnessReady === true', timeout = 120_000, args = FLAGS) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || process.env.AIC_VERBOSE) console.log(`[page] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(ready, null, { timeout, polling: 500 });
  return { browser, page };
}
