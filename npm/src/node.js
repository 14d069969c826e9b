// Node entry: reads the .wasm file from the package; the model runs on the CPU backend.
// Otherwise the same API as the browser entry.
import { readFile } from 'node:fs/promises';
import { setDefaultWasmSource } from './api.js';

setDefaultWasmSource(() => readFile(new URL('./wasm/aic_wasm_bg.wasm', import.meta.url)));

export * from './index.js';
