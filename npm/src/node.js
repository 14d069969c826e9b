// Node entry: reads the modules and the weights from the package; the model runs on the CPU
// module (Node has no WebGPU). Otherwise the same API as the browser entry.
import { readFile } from 'node:fs/promises';
import { setDefaultSources, WEIGHTS_FILE } from './api.js';

const file = (name) => () => readFile(new URL(`./wasm/${name}`, import.meta.url));
setDefaultSources({
  cpu: file('aic_cpu_bg.wasm'),
  webgpu: file('aic_webgpu_bg.wasm'),
  weights: file(WEIGHTS_FILE),
});

export * from './index.js';
