//! Every cap on what a caller may ask for, in one place, with the reason for each. The CLI, the
//! wasm layer and the page all read these (the page through the engine), so a file or a request
//! that one of them accepts, the others accept too.

use crate::error::VaeError;

/// Parameters of a model that may be trained or loaded: parameters, gradients and two Adam
/// moments (16 bytes per parameter, plus the host copies) stay under ~100 MB in a browser tab.
/// The largest preset has 103,593.
pub const MAX_PARAMS: usize = 5_000_000;

/// Shapes of an architecture: beyond these nobody means it (and [`MAX_PARAMS`] caps the total).
pub const MAX_LATENT: usize = 256;
pub const MAX_HIDDEN_LAYERS: usize = 8;
pub const MAX_WIDTH: usize = 4_096;

/// Images in one call (encode, reconstruct, decode, held-out digits by index): 10,000 images are
/// 31 MB of floats in and out, the size of MNIST's test set.
pub const MAX_IMAGES_PER_CALL: usize = 10_000;

/// Digits drawn from the prior in one call.
pub const MAX_SAMPLES: usize = 1_000;

/// Fixed-point chains: chains, steps, and frames kept in memory (n × (steps + 1) × 784 floats;
/// 20,000 frames are 63 MB). The CLI streams frames to its GIF instead and only caps the steps.
pub const MAX_CHAINS: usize = 200;
pub const MAX_CHAIN_STEPS: usize = 500;
pub const MAX_CHAIN_FRAMES: usize = 20_000;
/// Importance samples per image for the likelihood estimate (K = 5,000 on the 1,000 held-out
/// digits is already minutes of decoding).
pub const MAX_IMPORTANCE_SAMPLES: usize = 5_000;
/// Steps of `vae chain`, whose frames go to the GIF one at a time.
pub const MAX_CLI_CHAIN_STEPS: usize = 100_000;

/// Digits in a PNG grid (`vae sample`, `vae reconstruct`): 10,000 digits make a 8,400 × 8,400
/// image already.
pub const MAX_GRID_DIGITS: usize = 10_000;

/// Training options.
pub const MAX_EPOCHS: usize = 10_000;
pub const MAX_BATCH: usize = 4_096;
/// Adam's learning rate lies strictly between these (0 learns nothing; 1 and above diverge on
/// every model here, and [`DIVERGENCE_NATS`] stops far smaller rates already).
pub const MIN_LR: f64 = 0.0;
pub const MAX_LR: f64 = 1.0;

/// A file we read whole (weights, IDX, the subset file, and what a gzip file inflates to): the
/// full MNIST training images are 47 MB, Fashion-MNIST's the same; 512 MiB leaves room for
/// bigger 28×28 sets while a hostile 10 MB gzip can no longer expand to 10 GiB.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// Images per batch when statistics run over a big input (eval, active units): memory stays
/// bounded whatever the number of images.
pub const STATS_CHUNK: usize = 1_000;

/// Length of a model slot's name.
pub const MAX_SLOT_NAME: usize = 64;

/// Bytes of a dataset's description (what later runs' weights files give as their dataset):
/// a title and a note, not a document. The page cuts a longer one to this.
pub const MAX_DESCRIPTION_BYTES: usize = 200;

/// Bytes of a weights file's JSON header: a few hundred in practice, the rest is room.
pub const MAX_WEIGHTS_HEADER_BYTES: usize = 1 << 20;
/// Bytes of a weights file: the largest model ([`MAX_PARAMS`] f32s), the largest header and the
/// framing (magic 8, header length 4, parameter count 4, checksum 8). A longer file is refused
/// before it is read.
pub const MAX_WEIGHTS_BYTES: usize = MAX_PARAMS * 4 + MAX_WEIGHTS_HEADER_BYTES + 24;

/// Side of a picture the page decodes into a digit (a visitor's own images): 4,096 × 4,096
/// pixels at most (the largest a drawing pad or a canvas is sure to take, 16.7 MP, 64 MB
/// decoded). A bigger one is refused from its header, before decoding.
pub const MAX_PICTURE_SIDE: usize = 4_096;

/// Divergence: training stops when a chunk's or an epoch's nELBO is this many nats per image
/// above the best seen in the run. An untrained model (σ = 1, mean 0.5) scores about 830 nats
/// per MNIST image, so a loss 10,000 nats above the best is worse than knowing nothing by an
/// order of magnitude; healthy runs never move by more than a few hundred nats between chunks.
/// (lr = 0.5 reaches 1e17.)
pub const DIVERGENCE_NATS: f64 = 10_000.0;
/// The largest KL weight β a run takes (β = 100 already switches every latent off).
pub const MAX_BETA: f64 = 100.0;

/// A count from 1 to `max` (`what` names it in the error).
pub fn check_count(n: usize, max: usize, what: &str) -> Result<usize, VaeError> {
    if n == 0 || n > max {
        return Err(VaeError::Invalid(format!(
            "{what} must be an integer from 1 to {max}, got {n}"
        )));
    }
    Ok(n)
}

/// At most `max` items at once.
pub fn check_at_most(n: usize, max: usize, what: &str) -> Result<(), VaeError> {
    if n > max {
        return Err(VaeError::Invalid(format!(
            "{what}: {n} at once is too many (max {max})"
        )));
    }
    Ok(())
}

/// Everything above as JSON-friendly pairs, for the page (it reads them from the engine).
pub fn all() -> Vec<(&'static str, f64)> {
    vec![
        ("maxParams", MAX_PARAMS as f64),
        ("maxLatent", MAX_LATENT as f64),
        ("maxHiddenLayers", MAX_HIDDEN_LAYERS as f64),
        ("maxWidth", MAX_WIDTH as f64),
        ("maxImagesPerCall", MAX_IMAGES_PER_CALL as f64),
        ("maxSamples", MAX_SAMPLES as f64),
        ("maxChains", MAX_CHAINS as f64),
        ("maxChainSteps", MAX_CHAIN_STEPS as f64),
        ("maxChainFrames", MAX_CHAIN_FRAMES as f64),
        ("maxEpochs", MAX_EPOCHS as f64),
        ("maxBatch", MAX_BATCH as f64),
        ("minLr", MIN_LR),
        ("maxLr", MAX_LR),
        ("maxSlotName", MAX_SLOT_NAME as f64),
        ("maxDescription", MAX_DESCRIPTION_BYTES as f64),
        ("maxWeightsBytes", MAX_WEIGHTS_BYTES as f64),
        ("maxPictureSide", MAX_PICTURE_SIDE as f64),
        ("divergenceNats", DIVERGENCE_NATS),
        ("maxBeta", MAX_BETA),
        ("maxImportanceSamples", MAX_IMPORTANCE_SAMPLES as f64),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weights_file_bound_is_the_largest_file_the_reader_accepts() {
        // magic, header length, header, parameter count, parameters, checksum
        let largest = 8 + 4 + MAX_WEIGHTS_HEADER_BYTES + 4 + 4 * MAX_PARAMS + 8;
        assert_eq!(MAX_WEIGHTS_BYTES, largest);
        // every limit reaches the page exactly (an f64 holds each of them)
        for (name, v) in all() {
            assert!(v.is_finite() && v >= 0.0 && v.fract() == 0.0, "{name} {v}");
        }
    }
}
