//! Reading inputs: PNG, JPEG, PPM/PNM images and Y4M (4:2:0, 8-bit) sequences.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use aic_core::limits::MAX_DIMENSION;
use aic_core::{Frame, PixelFormat};
use image::{DynamicImage, ImageReader, Limits};

use crate::error::{NativeError, Result};

/// File extensions that directories are searched for.
pub const INPUT_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "ppm", "pnm", "y4m"];

/// Most bytes of pixels one input file may expand to (a long Y4M sequence is refused past it).
pub const MAX_INPUT_BYTES: usize = 2 << 30;

/// A file's frames: one for an image, every frame of a Y4M sequence.
#[derive(Debug, Clone)]
pub struct Input {
    /// Where it came from.
    pub path: PathBuf,
    /// Its frames, in order.
    pub frames: Vec<Frame>,
    /// Time between frames in µs (0 for a still image).
    pub frame_interval_us: u64,
}

/// Expands directories (non-recursively, sorted) into the input files they hold.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| NativeError::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        INPUT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                    })
                })
                .collect();
            if files.is_empty() {
                return Err(NativeError::invalid(
                    p,
                    "directory holds no PNG, JPEG, PNM or Y4M file",
                ));
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads one input file (the kind is told by its first bytes, not its name).
pub fn read_input(path: &Path) -> Result<Input> {
    let mut file = BufReader::new(File::open(path).map_err(|e| NativeError::io(path, e))?);
    let head = file.fill_buf().map_err(|e| NativeError::io(path, e))?;
    if head.starts_with(b"YUV4MPEG2 ") {
        return read_y4m(path, file);
    }
    let frame = read_image(path, file)?;
    Ok(Input {
        path: path.to_path_buf(),
        frames: vec![frame],
        frame_interval_us: 0,
    })
}

fn read_image(path: &Path, file: BufReader<File>) -> Result<Frame> {
    let image_err = |source| NativeError::Image {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = ImageReader::new(file)
        .with_guessed_format()
        .map_err(|e| NativeError::io(path, e))?;
    if reader.format().is_none() {
        return Err(NativeError::invalid(
            path,
            "not a PNG, JPEG, PPM/PNM or Y4M file",
        ));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    let img = reader.decode().map_err(image_err)?;
    let (w, h) = (img.width(), img.height());
    let frame = if img.color().has_alpha() {
        Frame::new(
            w,
            h,
            PixelFormat::Rgba8,
            DynamicImage::into_rgba8(img).into_raw(),
        )
    } else {
        Frame::new(
            w,
            h,
            PixelFormat::Rgb8,
            DynamicImage::into_rgb8(img).into_raw(),
        )
    };
    frame.map_err(|e| NativeError::codec(path, e))
}

/// Reads the Y4M stream header line and checks size and colour space before any allocation.
fn check_y4m_header(path: &Path, line: &[u8]) -> Result<(u32, u32, u64)> {
    let text = std::str::from_utf8(line)
        .map_err(|_| NativeError::invalid(path, "Y4M header is not ASCII"))?;
    let (mut w, mut h, mut interval) = (None, None, 1_000_000 / 30);
    for tok in text.split_ascii_whitespace().skip(1) {
        let (tag, value) = tok.split_at(1);
        let dim = |v: &str| {
            v.parse::<u32>()
                .ok()
                .filter(|d| (1..=MAX_DIMENSION).contains(d))
                .ok_or_else(|| {
                    NativeError::invalid(
                        path,
                        format!("Y4M size {v} is outside 1..={MAX_DIMENSION}"),
                    )
                })
        };
        match tag {
            "W" => w = Some(dim(value)?),
            "H" => h = Some(dim(value)?),
            "F" => {
                let (n, d) = value.split_once(':').unwrap_or((value, "1"));
                if let (Ok(n), Ok(d)) = (n.parse::<u64>(), d.parse::<u64>())
                    && n > 0
                {
                    interval = d.saturating_mul(1_000_000) / n;
                }
            }
            "C" if !["420", "420jpeg", "420paldv", "420mpeg2"].contains(&value) => {
                return Err(NativeError::invalid(
                    path,
                    format!(
                        "Y4M colour space C{value} is not supported: only 8-bit 4:2:0 (C420, C420jpeg, C420paldv, C420mpeg2)"
                    ),
                ));
            }
            _ => {}
        }
    }
    match (w, h) {
        (Some(w), Some(h)) => Ok((w, h, interval)),
        _ => Err(NativeError::invalid(path, "Y4M header lacks W or H")),
    }
}

fn read_y4m(path: &Path, mut file: BufReader<File>) -> Result<Input> {
    let mut line = Vec::new();
    (&mut file)
        .take(1024)
        .read_until(b'\n', &mut line)
        .map_err(|e| NativeError::io(path, e))?;
    let (w, h, interval) = check_y4m_header(path, &line)?;
    let header = std::io::Cursor::new(line);
    let limits = y4m::Limits {
        bytes: PixelFormat::I420.frame_len(MAX_DIMENSION, MAX_DIMENSION),
    };
    let mut dec = y4m::Decoder::new_with_limits(header.chain(file), limits)
        .map_err(|e| NativeError::invalid(path, format!("bad Y4M header: {e}")))?;
    let mut frames = Vec::new();
    let mut total = 0usize;
    loop {
        match dec.read_frame() {
            Ok(f) => {
                let mut data = Vec::with_capacity(PixelFormat::I420.frame_len(w, h));
                data.extend_from_slice(f.get_y_plane());
                data.extend_from_slice(f.get_u_plane());
                data.extend_from_slice(f.get_v_plane());
                total += data.len();
                if total > MAX_INPUT_BYTES {
                    return Err(NativeError::invalid(
                        path,
                        format!("sequence is longer than {MAX_INPUT_BYTES} bytes of pixels"),
                    ));
                }
                frames.push(
                    Frame::new(w, h, PixelFormat::I420, data)
                        .map_err(|e| NativeError::codec(path, e))?,
                );
            }
            Err(y4m::Error::EOF) => break,
            Err(e) => {
                return Err(NativeError::invalid(
                    path,
                    format!("bad Y4M frame {}: {e}", frames.len()),
                ));
            }
        }
    }
    if frames.is_empty() {
        return Err(NativeError::invalid(path, "Y4M file has no frame"));
    }
    Ok(Input {
        path: path.to_path_buf(),
        frames,
        frame_interval_us: interval,
    })
}
