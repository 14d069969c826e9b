// What a web developer writes: import the package, encode a frame, decode it, show it.
import { AicEncoder, AicDecoder } from '@auralink/aic';

function testCard(width, height) {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const g = ctx.createLinearGradient(0, 0, width, height);
  g.addColorStop(0, '#1d4e89');
  g.addColorStop(1, '#f2a541');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#fff';
  ctx.beginPath();
  ctx.arc(width / 2, height / 2, height / 4, 0, 2 * Math.PI);
  ctx.fill();
  return ctx.getImageData(0, 0, width, height);
}

async function main() {
  const frame = testCard(128, 96);
  // 'auto' takes the CPU module here (Chromium's WebGPU adapter is a software fallback); the
  // WebGPU module is fetched only for the decoder that asks for it.
  const encoder = await AicEncoder.create({ backend: 'auto', quality: 3 });
  const decoder = await AicDecoder.create({ backend: 'auto' });
  const gpu = await AicDecoder.create({ backend: 'webgpu' });
  const bytes = await encoder.encode(frame);
  const image = await decoder.decode(bytes);
  const onGpu = await gpu.decode(bytes);
  let gpuDiff = 0;
  for (let i = 0; i < image.data.length; i++) gpuDiff = Math.max(gpuDiff, Math.abs(image.data[i] - onGpu.data[i]));
  const view = document.querySelector('#view');
  [view.width, view.height] = [image.width, image.height];
  view.getContext('2d').putImageData(image, 0, 0);
  let se = 0;
  for (let i = 0; i < frame.data.length; i++) {
    if (i % 4 !== 3) se += (frame.data[i] - image.data[i]) ** 2;
  }
  const psnr = 10 * Math.log10((255 * 255 * frame.width * frame.height * 3) / se);
  window.result = {
    ok: true,
    backend: encoder.backend,
    backendNote: encoder.backendNote,
    gpuBackend: gpu.backend,
    gpuDiff,
    wasmFiles: performance
      .getEntriesByType('resource')
      .map((e) => e.name.split('/').pop())
      .filter((n) => n.endsWith('.wasm') || n.endsWith('.safetensors')),
    bytes: bytes.length,
    codec: encoder.lastStats.codec,
    width: image.width,
    height: image.height,
    psnr,
  };
  document.querySelector('#out').textContent = JSON.stringify(window.result);
}

main().catch((e) => {
  window.result = { ok: false, error: String(e), code: e.code };
  document.querySelector('#out').textContent = String(e);
});
