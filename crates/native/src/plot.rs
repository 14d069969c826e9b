//! A PNG plot of a video evaluation: PSNR (top panel) and kbps (bottom panel, a 1-second
//! moving average, up to twice the target) per frame, AIC in blue, VP8 in orange, the target in
//! grey; faint grid lines every 2 dB / 100 kbps and every second.

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::error::{NativeError, Result};
use crate::video::VideoReport;

const W: u32 = 960;
const PANEL: u32 = 260;
const MARGIN: u32 = 20;
const AIC: Rgb<u8> = Rgb([31, 119, 180]);
const VP8: Rgb<u8> = Rgb([255, 127, 14]);
const TARGET: Rgb<u8> = Rgb([150, 150, 150]);
const GRID: Rgb<u8> = Rgb([232, 232, 232]);

struct Panel {
    top: u32,
    lo: f64,
    hi: f64,
}

impl Panel {
    fn y(&self, v: f64) -> i64 {
        let t = ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        i64::from(self.top + PANEL) - (t * f64::from(PANEL)) as i64
    }
}

fn line(img: &mut RgbImage, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: Rgb<u8>) {
    let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    for s in 0..=steps {
        let x = x0 + (x1 - x0) * s / steps;
        let y = y0 + (y1 - y0) * s / steps;
        for (dx, dy) in [(0, 0), (0, 1)] {
            let (px, py) = (x + dx, y + dy);
            if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                img.put_pixel(px as u32, py as u32, c);
            }
        }
    }
}

fn series(img: &mut RgbImage, panel: &Panel, values: &[f64], n: usize, c: Rgb<u8>) {
    let x = |i: usize| i64::from(MARGIN) + (i as i64 * i64::from(W - 2 * MARGIN)) / n.max(2) as i64;
    for (i, pair) in values.windows(2).enumerate() {
        if pair.iter().all(|v| v.is_finite()) {
            line(
                img,
                (x(i), panel.y(pair[0])),
                (x(i + 1), panel.y(pair[1])),
                c,
            );
        }
    }
}

/// Writes the plot of `report` to `path`.
pub fn write_plot(report: &VideoReport, path: &Path) -> Result<()> {
    let h = 2 * PANEL + 3 * MARGIN;
    let mut img = RgbImage::from_pixel(W, h, Rgb([255, 255, 255]));
    let n = report.frames;
    let kbps_of = |bytes: usize| bytes as f64 * 8.0 * report.fps / 1000.0;
    let psnr: Vec<Vec<f64>> = [&report.aic_frames, &report.vp8_frames]
        .iter()
        .map(|rows| rows.iter().map(|r| r.yuv_psnr).collect())
        .collect();
    let kbps: Vec<Vec<f64>> = [&report.aic_frames, &report.vp8_frames]
        .iter()
        .map(|rows| {
            // One-second moving average: per-frame sizes swing with frame kinds.
            let per = report.fps.round().max(1.0) as usize;
            (0..rows.len())
                .map(|i| {
                    let w = &rows[i.saturating_sub(per - 1)..=i];
                    w.iter().map(|r| kbps_of(r.bytes)).sum::<f64>() / w.len() as f64
                })
                .collect()
        })
        .collect();
    let finite = |v: &[Vec<f64>]| -> (f64, f64) {
        let all = v.iter().flatten().copied().filter(|x| x.is_finite());
        all.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)))
    };
    let (plo, phi) = finite(&psnr);
    let p = Panel {
        top: MARGIN,
        lo: (plo - 1.0).floor(),
        hi: (phi + 1.0).ceil(),
    };
    let targets: Vec<f64> = report.aic_frames.iter().map(|r| r.target_kbps).collect();
    // Up to twice the highest target: a key frame's spike would flatten everything else
    // (values above are drawn at the top).
    let (_, khi) = finite(&[kbps.concat(), targets.clone()]);
    let (_, thi) = finite(std::slice::from_ref(&targets));
    let k = Panel {
        top: 2 * MARGIN + PANEL,
        lo: 0.0,
        hi: (khi * 1.1).min(thi * 2.0),
    };
    // Grid: every 2 dB, every 100 kbps, every second.
    let mut db = p.lo.ceil();
    while db <= p.hi {
        if db as i64 % 2 == 0 {
            line(
                &mut img,
                (MARGIN.into(), p.y(db)),
                ((W - MARGIN).into(), p.y(db)),
                GRID,
            );
        }
        db += 1.0;
    }
    let mut kb = 0.0;
    while kb <= k.hi {
        line(
            &mut img,
            (MARGIN.into(), k.y(kb)),
            ((W - MARGIN).into(), k.y(kb)),
            GRID,
        );
        kb += 100.0;
    }
    let per = report.fps.round().max(1.0) as usize;
    for i in (0..n).step_by(per) {
        let x = i64::from(MARGIN) + (i as i64 * i64::from(W - 2 * MARGIN)) / n.max(2) as i64;
        for panel in [&p, &k] {
            line(
                &mut img,
                (x, panel.y(panel.lo)),
                (x, panel.y(panel.hi)),
                GRID,
            );
        }
    }
    series(&mut img, &k, &targets, n, TARGET);
    for (i, c) in [(1, VP8), (0, AIC)] {
        series(&mut img, &p, &psnr[i], n, c);
        series(&mut img, &k, &kbps[i], n, c);
    }
    img.save(path)
        .map_err(|e| NativeError::invalid(path, format!("cannot write the plot: {e}")))
}
