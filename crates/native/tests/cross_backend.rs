//! The cross-platform promise, natively: a frame encoded on wgpu (here a software Vulkan
//! driver, Debian's lavapipe; any GPU elsewhere) decodes on the CPU backend (Flex) to exactly
//! the latent the encoder quantized, and to the same picture within float noise.
//! Needs a Vulkan driver: `apt-get install mesa-vulkan-drivers` (scripts/test.sh does).

use std::sync::Arc;

use aic_core::codec::NeuralCodec;
use aic_core::wire::read_frame;
use aic_core::{CodecChoice, Decoder, Encoder, EncoderConfig, Frame, PixelFormat};
use aic_native::backend::Backend;

fn picture(w: u32, h: u32) -> Frame {
    let data = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [
                (x * 4) as u8,
                (y * 5) as u8 ^ ((x * 7 + y * 3) % 13) as u8,
                (200 - x - y) as u8,
            ]
        })
        .collect();
    Frame::new(w, h, PixelFormat::Rgb8, data).unwrap()
}

fn model(b: Backend) -> Arc<NeuralCodec> {
    b.load_model().unwrap_or_else(|e| {
        panic!(
            "{}: {e} (install a Vulkan driver: apt-get install mesa-vulkan-drivers)",
            b.name()
        )
    })
}

#[test]
fn encoded_on_wgpu_decodes_on_flex() {
    let (gpu, cpu) = (model(Backend::Wgpu), model(Backend::Flex));
    let frame = picture(64, 48);
    for quality in [1, 4, 6] {
        let cfg = EncoderConfig {
            codec: CodecChoice::Neural,
            quality,
            ..Default::default()
        };
        let bytes = Encoder::with_neural(cfg, gpu.clone())
            .unwrap()
            .encode(&frame, 0)
            .unwrap()
            .bytes;
        let (h, payload, _) = read_frame(&bytes).unwrap();
        // What the wgpu encoder quantized, and what the CPU decoder reads back: identical.
        let sent = pollster::block_on(gpu.analyze(&frame, h.quality)).unwrap();
        assert_eq!(
            cpu.decode_latent(payload, h.quality, h.width, h.height)
                .unwrap(),
            sent
        );
        // Both backends reconstruct the same picture within float noise (±1 after rounding).
        let on_cpu = Decoder::with_neural(cpu.clone())
            .decode(&bytes)
            .unwrap()
            .frame;
        let on_gpu = Decoder::with_neural(gpu.clone())
            .decode(&bytes)
            .unwrap()
            .frame;
        let worst = on_cpu
            .data()
            .iter()
            .zip(on_gpu.data())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 1, "quality {quality}: pixels differ by {worst}");
        // And the two backends' encoders agree on (almost) every symbol.
        let cpu_sent = pollster::block_on(cpu.analyze(&frame, h.quality)).unwrap();
        let differ = sent
            .symbols
            .iter()
            .zip(&cpu_sent.symbols)
            .filter(|(a, b)| a != b)
            .count();
        assert!(
            differ * 1000 <= sent.symbols.len(),
            "quality {quality}: {differ} symbols differ"
        );
    }
}
