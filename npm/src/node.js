// Node entry: reads the .wasm file from the package; the model runs on the CPU backend.
import { readFile } from 'node:fs/promises';
import { setDefaultWasmSource } from './api.js';

setDefaultWasmSource(() => readFile(new URL('./wasm/aic_wasm_bg.wasm', import.meta.url)));

export {
  initAic,
  AicEncoder,
  AicDecoder,
  AicSender,
  AicReceiver,
  Packetizer,
  Reassembler,
  formatVersion,
  modelInfo,
} from './api.js';
