//! A training run frozen at the end of an epoch, so that a reload, a crash or a closed tab loses
//! at most the epoch in progress.
//!
//! Layout (integers little-endian): `VAELABC1` | u32 header length | header JSON | u32 float
//! count | f32 × count (the parameters, then Adam's first and second moments) | u64 FNV-1a of
//! every byte before it. The header holds the run's settings, the finished epochs' history, both
//! random streams and the shuffled order, so that resuming gives the same weights to the bit as a
//! run that was never interrupted.

use serde::{Deserialize, Serialize};

use crate::config::{EpochRecord, TrainingConfig};
use crate::error::VaeError;
use crate::format::{self, write_framed, HEADER_AT};
use crate::limits::MAX_PARAMS;
use crate::rng::Rng;

pub const CHECKPOINT_MAGIC: &[u8; 8] = b"VAELABC1";
const MAX_HEADER: usize = 8 << 20;

/// Everything but the floats.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    pub format: u32,
    pub config: TrainingConfig,
    /// Finished epochs.
    pub epoch: u64,
    pub history: Vec<EpochRecord>,
    /// Lowest nELBO seen (the divergence guard's reference); none before the first step.
    pub best: Option<f64>,
    pub adam_time: u64,
    pub shuffle_rng: Rng,
    pub noise_rng: Rng,
    /// The training digits' order after the last shuffle (the next shuffle permutes it).
    pub order: Vec<u32>,
    /// Whatever the caller wants back on resume (the page keeps its slot name and metadata).
    #[serde(default)]
    pub extra: serde_json::Value,
}

/// A checkpoint in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub header: CheckpointHeader,
    /// Parameters (`config.arch.param_count()`), then the Adam state (twice that, or none before
    /// the first step).
    pub floats: Vec<f32>,
}

impl Checkpoint {
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).expect("checkpoint header serialises");
        write_framed(CHECKPOINT_MAGIC, &header, &self.floats)
    }

    /// Parse and check a checkpoint; `name` only appears in error messages.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self, VaeError> {
        let bad = |why: String| VaeError::Weights {
            file: name.to_string(),
            why,
        };
        if bytes.len() < 8 || &bytes[..8] != CHECKPOINT_MAGIC {
            return Err(bad(
                "not a VAE Lab training checkpoint (magic VAELABC1 missing)".into(),
            ));
        }
        let u32_at = |i: usize| -> Result<usize, VaeError> {
            format::u32_at(bytes, i).ok_or_else(|| bad(format!("truncated: {} bytes", bytes.len())))
        };
        let header_len = u32_at(8)?;
        if header_len > MAX_HEADER || header_len > bytes.len() - HEADER_AT {
            return Err(bad(format!(
                "truncated or corrupt header ({} bytes, header says {header_len})",
                bytes.len()
            )));
        }
        let count_at = HEADER_AT + header_len;
        let count = u32_at(count_at)?;
        let per_param = count
            .checked_mul(4)
            .ok_or_else(|| bad("float count overflows".into()))?;
        let total = (count_at + 4)
            .checked_add(per_param)
            .and_then(|t| t.checked_add(8));
        if total != Some(bytes.len()) {
            return Err(bad(format!(
                "{} bytes, but the header promises {count} floats: truncated or padded",
                bytes.len()
            )));
        }
        let total = bytes.len();
        if !format::checksum_ok(bytes) {
            return Err(bad("checksum mismatch: the checkpoint is corrupt".into()));
        }
        let header: CheckpointHeader = serde_json::from_slice(&bytes[HEADER_AT..count_at])
            .map_err(|e| bad(format!("corrupt header: {e}")))?;
        if header.format != 1 {
            return Err(bad(format!(
                "checkpoint format {} is newer than this app (1)",
                header.format
            )));
        }
        header.config.validate().map_err(|e| bad(e.to_string()))?;
        let params = header.config.arch.param_count();
        if params > MAX_PARAMS
            || (count != params && count != 3 * params)
            || (count == params) != (header.adam_time == 0)
        {
            return Err(bad(format!(
                "{count} floats do not fit architecture {} ({params} parameters)",
                header.config.arch.label()
            )));
        }
        let floats = format::floats(&bytes[count_at + 4..total - 8]);
        if floats.iter().any(|v| !v.is_finite()) {
            return Err(bad("the checkpoint holds NaN or infinity".into()));
        }
        Ok(Self { header, floats })
    }
}
