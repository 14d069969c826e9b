//! What encoder and decoder both hold between frames: the latent grid's integer symbols and,
//! per position, the quality step they were coded at (`docs/format.md` §7.1).
//!
//! Nothing here is a float: a key frame sets every position, a delta frame replaces the
//! positions it updates, and both sides apply the same integers in the same way, so their
//! states stay identical on every backend and platform, however long the stream.

use crate::error::{Result, inconsistent};

/// The integer state of a sequence after frame `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatentState {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Latent channels.
    pub channels: usize,
    /// Latent grid height (positions).
    pub grid_h: usize,
    /// Latent grid width (positions).
    pub grid_w: usize,
    /// Symbols, `[channels, grid_h · grid_w]`, channel-major.
    pub symbols: Vec<i32>,
    /// The step each position's symbols were coded at, `[grid_h · grid_w]`.
    pub steps: Vec<u8>,
    /// Sequence number of the last frame applied.
    pub seq: u32,
}

/// The positions a delta frame updates, at one step, with their new symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The step of every updated position.
    pub step: u8,
    /// One flag per position (raster order): updated or kept.
    pub updated: Vec<bool>,
    /// New symbols, `[channels, updated positions]`, channel-major, positions in raster order.
    pub symbols: Vec<i32>,
}

impl Update {
    /// Number of updated positions.
    pub fn count(&self) -> usize {
        self.updated.iter().filter(|&&u| u).count()
    }
}

impl LatentState {
    /// The state after a key frame: every position at `step`.
    pub fn key(
        width: u32,
        height: u32,
        channels: usize,
        grid: (usize, usize),
        symbols: Vec<i32>,
        step: u8,
        seq: u32,
    ) -> Result<Self> {
        let positions = grid.0 * grid.1;
        if symbols.len() != channels * positions {
            return Err(inconsistent(
                "key frame symbols",
                (channels * positions) as u64,
                symbols.len() as u64,
            ));
        }
        Ok(LatentState {
            width,
            height,
            channels,
            grid_h: grid.0,
            grid_w: grid.1,
            symbols,
            steps: vec![step; positions],
            seq,
        })
    }

    /// Number of latent positions.
    pub fn positions(&self) -> usize {
        self.grid_h * self.grid_w
    }

    /// Applies a delta frame's update as frame `seq`. Checks it first: a malformed update
    /// leaves the state as it was.
    pub fn apply(&mut self, update: &Update, seq: u32) -> Result<()> {
        let n = self.positions();
        if update.updated.len() != n {
            return Err(inconsistent(
                "update flags",
                n as u64,
                update.updated.len() as u64,
            ));
        }
        let count = update.count();
        if update.symbols.len() != count * self.channels {
            return Err(inconsistent(
                "update symbols",
                (count * self.channels) as u64,
                update.symbols.len() as u64,
            ));
        }
        let mut k = 0;
        for p in 0..n {
            if !update.updated[p] {
                continue;
            }
            for c in 0..self.channels {
                self.symbols[c * n + p] = update.symbols[c * count + k];
            }
            self.steps[p] = update.step;
            k += 1;
        }
        self.seq = seq;
        Ok(())
    }

    /// CRC-32 of the state (symbols as little-endian `i32`, then steps): equal on encoder and
    /// decoder after every frame, on every backend.
    pub fn checksum(&self) -> u32 {
        let mut h = crc32fast::Hasher::new();
        for s in &self.symbols {
            h.update(&s.to_le_bytes());
        }
        h.update(&self.steps);
        h.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_replace_only_flagged_positions() {
        let mut s = LatentState::key(32, 16, 2, (1, 2), vec![1, 2, 3, 4], 5, 0).unwrap();
        let u = Update {
            step: 9,
            updated: vec![false, true],
            symbols: vec![20, 40],
        };
        s.apply(&u, 1).unwrap();
        assert_eq!(s.symbols, vec![1, 20, 3, 40]);
        assert_eq!(s.steps, vec![5, 9]);
        assert_eq!(s.seq, 1);
        let before = s.clone();
        let bad = Update {
            step: 9,
            updated: vec![true, true],
            symbols: vec![1],
        };
        assert!(s.apply(&bad, 2).is_err());
        assert_eq!(s, before);
    }
}
