// Browser (and bundler) entry: the .wasm file sits next to this module; Vite and webpack
// follow the `new URL(..., import.meta.url)` in the wasm-bindgen glue.
export {
  initAic,
  AicEncoder,
  AicDecoder,
  AicSender,
  AicLiveSender,
  AicReceiver,
  Packetizer,
  Reassembler,
  RateEstimate,
  formatVersion,
  modelInfo,
} from './api.js';
