//! 3×3 convolutions (stride 1, padding 1) by Winograd's minimal filtering F(4×4, 3×3)
//! (Lavin & Gray 2016), for the synthesis transform on the CPU backend (`docs/model.md`,
//! "Winograd on the CPU").
//!
//! Each 4×4 block of outputs is computed from a 6×6 block of inputs in a transformed domain
//! where the convolution becomes 36 independent products: `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`.
//! Summed over input channels, the products are 36 matrix products (one batched matmul on the
//! backend), with 36 multiply-adds per 16 outputs and input channel instead of 144: 4× fewer
//! than im2col + gemm. The tile transforms run here on plain slices; they are additions and
//! a few small multiplications, ≈ 10 % of the work.
//!
//! The result equals the direct convolution up to float rounding (≈ 1e-6 relative): it is
//! used only where float noise is allowed, the display picture, never the latent.

use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};

/// Output tile side.
const M: usize = 4;
/// Input tile side (`M + 3 − 1`).
const T: usize = 6;
/// Products per tile (`T × T`).
const XI: usize = T * T;
/// Tiles transformed and multiplied together. Natively small blocks keep the buffers in the
/// allocator's reuse (large blocks are handed back to the system and page-faulted in again:
/// 64 tiles measured 1.3× faster than whole convolutions at 640×480); in wasm memory is never
/// handed back, and whole convolutions ran ≈ 10 % faster on the thread pool than blocks of
/// 512 tiles (2048 tiles: a 640×480 frame's convolutions whole, the products bounded to
/// ≈ 113 MB).
#[cfg(not(target_arch = "wasm32"))]
const TILE_BLOCK: usize = 64;
#[cfg(target_arch = "wasm32")]
const TILE_BLOCK: usize = 2048;

/// A 3×3, stride 1, padding 1 convolution with its kernels pre-transformed.
#[derive(Debug, Clone)]
pub struct Winograd3x3 {
    /// `G g Gᵀ` for every (output, input) channel pair, `[36, out, in]`.
    u: Tensor<3>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Winograd3x3 {
    /// The Winograd form of `conv`, which must be 3×3 with stride 1 and padding 1 (the
    /// synthesis transform's convolutions). Reads the weights back from `conv`'s device once.
    pub fn from_conv(conv: &Conv2d, device: &Device) -> Result<Self> {
        let [outputs, inputs, kh, kw] = conv.weight.dims();
        if (kh, kw) != (3, 3) {
            return Err(Error::Unavailable(format!(
                "Winograd F(4×4, 3×3) needs a 3×3 kernel, not {kh}×{kw}"
            )));
        }
        let weight = read(conv.weight.val())?;
        let bias = match &conv.bias {
            Some(b) => read(b.val())?,
            None => vec![0.0; outputs],
        };
        let mut u = vec![0f32; XI * outputs * inputs];
        for k in 0..outputs {
            for c in 0..inputs {
                let g = &weight[(k * inputs + c) * 9..(k * inputs + c + 1) * 9];
                let transformed = kernel_transform(g);
                for (xi, v) in transformed.iter().enumerate() {
                    u[(xi * outputs + k) * inputs + c] = *v;
                }
            }
        }
        let u = Tensor::<3>::from_data(TensorData::new(u, [XI, outputs, inputs]), device);
        Ok(Winograd3x3 {
            u,
            bias,
            inputs,
            outputs,
        })
    }

    /// Convolves `x`, `[batch, inputs, h, w]`, and rearranges the result by a pixel shuffle
    /// of factor `r` (1: none): `[batch, outputs / r², h·r, w·r]`, output channel
    /// `c·r² + i·r + j` landing at `(y·r + i, x·r + j)` of plane `c`, as Burn's `PixelShuffle`.
    /// `offset` is added to every output (the synthesis transform's final `+ ½`). Runs on the
    /// CPU backend: the tensors are read back and written as plain memory.
    pub fn forward(&self, x: Tensor<4>, r: usize, offset: f32) -> Result<Tensor<4>> {
        let [batch, channels, h, w] = x.dims();
        if channels != self.inputs || r == 0 || !self.outputs.is_multiple_of(r * r) {
            return Err(Error::Unavailable(format!(
                "Winograd convolution of {}→{} channels given {channels}, shuffle {r}",
                self.inputs, self.outputs
            )));
        }
        let device = x.device();
        let data = read(x)?;
        let (th, tw) = (h.div_ceil(M), w.div_ceil(M));
        let tiles = th * tw;
        let planes = self.outputs / (r * r);
        let plane_len = h * r * w * r;
        let mut out = vec![0f32; batch * planes * plane_len];
        for (image, out) in data
            .chunks_exact(channels * h * w)
            .zip(out.chunks_exact_mut(planes * plane_len))
        {
            // Blocks of tiles keep the transformed inputs and the products small (a few MB),
            // so the same memory serves block after block.
            for first in (0..tiles).step_by(TILE_BLOCK) {
                let count = TILE_BLOCK.min(tiles - first);
                let mut v = vec![0f32; channels * XI * count];
                for_each_chunk(&mut v, XI * count, |c, chunk| {
                    input_transform(&image[c * h * w..(c + 1) * h * w], h, w, tw, first, chunk)
                });
                // [channels, 36, count] → [36, channels, count]: a strided view, no copy.
                let v = Tensor::<3>::from_data(TensorData::new(v, [channels, XI, count]), &device)
                    .permute([1, 0, 2]);
                let products = read(self.u.clone().matmul(v))?; // [36, outputs, count]
                let layout = Layout {
                    stride: self.outputs * count,
                    first,
                    count,
                    h,
                    w,
                    tw,
                    r,
                };
                for_each_chunk(out, plane_len, |c, plane| {
                    for sub in 0..r * r {
                        let k = c * r * r + sub;
                        let bias = self.bias[k] + offset;
                        output_transform(&products[k * count..], &layout, sub, bias, plane);
                    }
                });
            }
        }
        Ok(Tensor::<4>::from_data(
            TensorData::new(out, [batch, planes, h * r, w * r]),
            &device,
        ))
    }
}

/// A tensor's values as f32, read synchronously (CPU backends).
fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| Error::Unavailable(format!("tensor data: {e:?}")))
}

/// Runs `f(index, chunk)` on each `size`-long chunk of `data`, on the rayon pool when the
/// `rayon` feature is on.
fn for_each_chunk(data: &mut [f32], size: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(size)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
    #[cfg(not(feature = "rayon"))]
    data.chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c));
}

/// `Bᵀ d` for one column of six inputs.
#[inline(always)]
fn bt(d: [f32; T]) -> [f32; T] {
    [
        4.0 * d[0] - 5.0 * d[2] + d[4],
        -4.0 * (d[1] + d[2]) + d[3] + d[4],
        4.0 * (d[1] - d[2]) - d[3] + d[4],
        2.0 * (d[3] - d[1]) - d[2] + d[4],
        2.0 * (d[1] - d[3]) - d[2] + d[4],
        4.0 * d[1] - 5.0 * d[3] + d[5],
    ]
}

/// `Aᵀ m` for one column of six products.
#[inline(always)]
fn at(m: [f32; T]) -> [f32; M] {
    let (s12, d12) = (m[1] + m[2], m[1] - m[2]);
    let (s34, d34) = (m[3] + m[4], m[3] - m[4]);
    [
        m[0] + s12 + s34,
        d12 + 2.0 * d34,
        s12 + 4.0 * s34,
        d12 + 8.0 * d34 + m[5],
    ]
}

/// `G g` for one column of three taps, in f64 (done once, at load).
fn g(g: [f64; 3]) -> [f64; T] {
    [
        g[0] / 4.0,
        -(g[0] + g[1] + g[2]) / 6.0,
        -(g[0] - g[1] + g[2]) / 6.0,
        g[0] / 24.0 + g[1] / 12.0 + g[2] / 6.0,
        g[0] / 24.0 - g[1] / 12.0 + g[2] / 6.0,
        g[2],
    ]
}

/// `G g Gᵀ` of a 3×3 kernel (row-major), as 36 products' weights (row-major 6×6).
fn kernel_transform(kernel: &[f32]) -> [f32; XI] {
    let mut cols = [[0f64; T]; 3]; // cols[j] = G · (column j of g)
    for (j, col) in cols.iter_mut().enumerate() {
        *col = g([kernel[j] as f64, kernel[3 + j] as f64, kernel[6 + j] as f64]);
    }
    let mut out = [0f32; XI];
    for i in 0..T {
        let row = g([cols[0][i], cols[1][i], cols[2][i]]);
        for j in 0..T {
            out[i * T + j] = row[j] as f32;
        }
    }
    out
}

/// `Bᵀ d B` of the 6×6 input tiles `first..first + count` of one channel (`plane`, `h`×`w`,
/// zero outside) into `out`, `[36, count]`. Tile `(ty, tx)` reads rows `4ty − 1 ..= 4ty + 4`,
/// likewise columns.
fn input_transform(plane: &[f32], h: usize, w: usize, tw: usize, first: usize, out: &mut [f32]) {
    let count = out.len() / XI;
    for (local, t) in (first..first + count).enumerate() {
        let (y0, x0) = ((t / tw * M) as isize - 1, (t % tw * M) as isize - 1);
        let mut d = [[0f32; T]; T]; // d[row][col]
        let interior = y0 >= 0 && x0 >= 0 && y0 as usize + T <= h && x0 as usize + T <= w;
        if interior {
            for (r, row) in d.iter_mut().enumerate() {
                let s = (y0 as usize + r) * w + x0 as usize;
                row.copy_from_slice(&plane[s..s + T]);
            }
        } else {
            for (r, row) in d.iter_mut().enumerate() {
                let y = y0 + r as isize;
                if y < 0 || y as usize >= h {
                    continue;
                }
                for (c, v) in row.iter_mut().enumerate() {
                    let x = x0 + c as isize;
                    if x >= 0 && (x as usize) < w {
                        *v = plane[y as usize * w + x as usize];
                    }
                }
            }
        }
        // Columns, then rows: tmp = Bᵀ d, then (Bᵀ d) B row by row.
        let mut tmp = [[0f32; T]; T]; // tmp[i][col]
        for c in 0..T {
            let col = bt([d[0][c], d[1][c], d[2][c], d[3][c], d[4][c], d[5][c]]);
            for i in 0..T {
                tmp[i][c] = col[i];
            }
        }
        for (i, row) in tmp.iter().enumerate() {
            let v = bt(*row);
            for j in 0..T {
                out[(i * T + j) * count + local] = v[j];
            }
        }
    }
}

/// Where [`output_transform`] reads and writes.
struct Layout {
    /// Distance between two products of one tile in the products.
    stride: usize,
    /// The block's first tile and its number of tiles.
    first: usize,
    count: usize,
    /// The convolution's output size, before the shuffle.
    h: usize,
    w: usize,
    /// Tiles per row.
    tw: usize,
    /// Pixel shuffle factor.
    r: usize,
}

/// `Aᵀ m A + bias` of the block's tiles of one output channel: `products[xi * stride + i]`
/// holds product `xi` of the block's tile `i`. Writes the pixels inside `h`×`w` into `plane` (`h·r`×`w·r`) at
/// the shuffle's sub-position `sub` (`i·r + j`).
fn output_transform(products: &[f32], l: &Layout, sub: usize, bias: f32, plane: &mut [f32]) {
    let (h, w, r) = (l.h, l.w, l.r);
    let (si, sj) = (sub / r, sub % r);
    for (local, t) in (l.first..l.first + l.count).enumerate() {
        let mut m = [[0f32; T]; T];
        for (xi, v) in m.iter_mut().flatten().enumerate() {
            *v = products[xi * l.stride + local];
        }
        let mut tmp = [[0f32; T]; M]; // tmp[i][col] = (Aᵀ m)[i][col]
        for c in 0..T {
            let col = at([m[0][c], m[1][c], m[2][c], m[3][c], m[4][c], m[5][c]]);
            for i in 0..M {
                tmp[i][c] = col[i];
            }
        }
        let (y0, x0) = (t / l.tw * M, t % l.tw * M);
        for (i, row) in tmp.iter().enumerate() {
            let y = y0 + i;
            if y >= h {
                break;
            }
            let v = at(*row);
            let n = M.min(w - x0);
            let line = (y * r + si) * w * r;
            if r == 1 {
                let s = line + x0;
                for (dst, v) in plane[s..s + n].iter_mut().zip(v) {
                    *dst = v + bias;
                }
            } else {
                for (j, v) in v.iter().take(n).enumerate() {
                    plane[line + (x0 + j) * r + sj] = v + bias;
                }
            }
        }
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::model::analysis::conv3x3;
    use burn::nn::PixelShuffleConfig;

    /// A deterministic pseudo-random sequence in [-1, 1).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    }

    #[test]
    fn equals_the_direct_convolution_on_every_size() {
        let device = Device::flex();
        // Sides that are and are not multiples of the tile, down to one pixel, and more tiles
        // than a block holds.
        for (c, k, h, w) in [
            (5, 8, 8, 12),
            (3, 4, 9, 13),
            (2, 3, 1, 1),
            (6, 2, 5, 3),
            (4, 7, 6, 6),
            (2, 4, 47, 53),
        ] {
            let conv = conv3x3(c, k, 1, &device);
            let x = Tensor::<4>::from_data(
                TensorData::new(noise(2 * c * h * w, (c * h * w) as u64), [2, c, h, w]),
                &device,
            );
            let direct = read(conv.forward(x.clone())).unwrap();
            let winograd = Winograd3x3::from_conv(&conv, &device).unwrap();
            let fast = read(winograd.forward(x.clone(), 1, 0.0).unwrap()).unwrap();
            assert_eq!(direct.len(), fast.len());
            let worst = max_abs_diff(&direct, &fast);
            assert!(worst < 1e-5, "{c}→{k} at {h}×{w}: off by {worst}");
            if k % 4 == 0 {
                let shuffled = PixelShuffleConfig::new(2)
                    .init()
                    .forward(conv.forward(x.clone()))
                    .add_scalar(0.5);
                let fused = winograd.forward(x, 2, 0.5).unwrap();
                assert_eq!(shuffled.dims(), fused.dims());
                let worst = max_abs_diff(&read(shuffled).unwrap(), &read(fused).unwrap());
                assert!(worst < 1e-5, "{c}→{k} at {h}×{w}, shuffled: off by {worst}");
            }
        }
    }
}
