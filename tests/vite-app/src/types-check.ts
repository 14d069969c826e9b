// Type-checks the package's TypeScript declarations the way an app uses them (`tsc -p .`).
import {
  AicDecoder,
  AicEncoder,
  AicReceiver,
  AicSender,
  Packetizer,
  Reassembler,
  formatVersion,
  initAic,
  modelInfo,
  type AicError,
  type EncodeStats,
} from '@auralink/aic';

export async function roundTrip(frame: VideoFrame | ImageData, channel: RTCDataChannel): Promise<number> {
  await initAic();
  const encoder = await AicEncoder.create({ backend: 'auto', quality: 3, codec: 'auto' });
  const decoder = await AicDecoder.create({ backend: 'cpu' });
  const bytes: Uint8Array = await encoder.encode(frame, { timestampUs: 0 });
  const stats: EncodeStats | null = encoder.lastStats;
  const image = await decoder.decode(bytes);
  const latents = await decoder.latents(bytes);
  new AicSender(channel, { maxPacketBytes: 16384 }).send(bytes);
  const receiver = new AicReceiver(channel, (f: Uint8Array) => void decoder.decode(f));
  receiver.onError = (e: AicError) => console.warn(e.code, e.message);
  const packets: Uint8Array[] = new Packetizer(1200).packetize(bytes);
  const r = new Reassembler();
  const status: 'need_more' | 'frame_complete' | 'duplicate' | 'stale' = r.push(packets[0], 0);
  const info = modelInfo();
  return image.width + (stats?.bytes ?? 0) + (latents?.symbols ?? 0) + formatVersion() + info.modelId + status.length;
}
