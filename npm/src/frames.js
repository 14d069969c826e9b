// What a web app has in hand → RGBA pixels { data: Uint8Array, width, height }.

/** An Error with a stable `code`, like the ones the wasm module throws. */
export function codedError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

/** Bytes as a Uint8Array, from a Uint8Array, another typed array view or an ArrayBuffer. */
export function toBytes(b) {
  if (b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  throw codedError('parameter', 'expected AIC bytes as a Uint8Array or ArrayBuffer');
}

function isImageDataLike(f) {
  return (
    f !== null &&
    typeof f === 'object' &&
    (f.data instanceof Uint8Array || f.data instanceof Uint8ClampedArray) &&
    Number.isInteger(f.width) &&
    Number.isInteger(f.height)
  );
}

function drawnPixels(source, width, height) {
  if (typeof OffscreenCanvas === 'undefined') {
    throw codedError('parameter', 'this environment cannot draw images: pass { data, width, height }');
  }
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, width, height);
  const img = ctx.getImageData(0, 0, width, height);
  return { data: new Uint8Array(img.data.buffer), width, height };
}

/**
 * RGBA pixels of a frame: ImageData or { data, width, height } as they are; VideoFrame by
 * copyTo (RGBA), or drawn where the browser cannot convert; ImageBitmap, canvas, image and
 * video elements drawn on an OffscreenCanvas.
 */
export async function toRgba(frame) {
  if (isImageDataLike(frame)) {
    const d = frame.data;
    return {
      data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
      width: frame.width,
      height: frame.height,
    };
  }
  if (typeof VideoFrame !== 'undefined' && frame instanceof VideoFrame) {
    const width = frame.visibleRect?.width ?? frame.displayWidth;
    const height = frame.visibleRect?.height ?? frame.displayHeight;
    const timestampUs = frame.timestamp;
    try {
      const data = new Uint8Array(width * height * 4);
      await frame.copyTo(data, { format: 'RGBA' });
      return { data, width, height, timestampUs };
    } catch {
      return { ...drawnPixels(frame, width, height), timestampUs };
    }
  }
  if (frame !== null && typeof frame === 'object') {
    const width = frame.videoWidth || frame.naturalWidth || frame.width;
    const height = frame.videoHeight || frame.naturalHeight || frame.height;
    if (Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) {
      return drawnPixels(frame, width, height);
    }
  }
  throw codedError(
    'parameter',
    'expected a VideoFrame, ImageData, ImageBitmap, canvas, image, video or { data: Uint8Array (RGBA), width, height }',
  );
}
