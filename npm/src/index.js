// Browser (and bundler) entry: the .wasm files and the weights sit next to this module; Vite
// and webpack follow the `new URL(..., import.meta.url)` in the glue and in api.js.
export {
  initAic,
  cpuThreads,
  WEIGHTS_FILE,
  AicEncoder,
  AicDecoder,
  AicSender,
  AicLiveSender,
  AicLiveReceiver,
  AicReceiver,
  Packetizer,
  Reassembler,
  RateEstimate,
  formatVersion,
  modelInfo,
} from './api.js';
