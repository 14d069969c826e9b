//! Named limits of the AIC format (`docs/format.md` §5).
//!
//! Every parser checks its input against these before it allocates, so no input, however
//! crafted, makes the decoder allocate more than these bounds allow.

/// Largest width or height of a frame, in pixels (§5).
pub const MAX_DIMENSION: u32 = 8192;

/// Largest payload of one frame, in bytes: an 8192×8192 RGBA8 frame stored raw (§5).
pub const MAX_PAYLOAD_BYTES: u32 = MAX_DIMENSION * MAX_DIMENSION * 4;

/// Largest frame the neural codec runs on, in pixels after padding to the network's stride
/// 16: 3840×2160 (§5). Its synthesis transform peaks at ≈ 70 bytes per pixel on the CPU
/// backend (≈ 0.6 GB at this size, measured natively), which still fits wasm32's 4 GiB; a
/// crafted header naming a bigger neural frame is refused before any allocation, and `auto`
/// encoders send bigger frames losslessly instead.
pub const MAX_NEURAL_PIXELS: u64 = 3840 * 2160;

/// Largest packet count of one frame (§4).
pub const MAX_PACKETS_PER_FRAME: u32 = 16_384;

/// Smallest packet size a packetizer accepts: the packet header plus 64 bytes of data (§4).
pub const MIN_PACKET_BYTES: usize = crate::wire::PACKET_HEADER_LEN + 64;

/// Default packet size: the RTCDataChannel message size that every browser accepts (§4).
pub const DEFAULT_PACKET_BYTES: usize = 16 * 1024;

/// Largest packet size a packetizer accepts: Chrome's SCTP `max-message-size` (§4).
pub const MAX_PACKET_BYTES: usize = 256 * 1024;

/// Default cap on the bytes a reassembler buffers across all incomplete frames (§4.3).
pub const DEFAULT_REASSEMBLY_BYTES: usize = 64 * 1024 * 1024;

/// Default cap on the number of incomplete frames a reassembler tracks at once (§4.3).
pub const DEFAULT_FRAMES_IN_FLIGHT: usize = 16;

/// Default time an incomplete frame may wait for its missing packets, in µs (§4.3).
pub const DEFAULT_REASSEMBLY_WINDOW_US: u64 = 1_000_000;
