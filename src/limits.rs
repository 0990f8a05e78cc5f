//! Every cap on what a caller may ask for, in one place, with the reason for each. The CLI, the
//! wasm layer and the page all read these (the page through the engine), so a file or a request
//! that one of them accepts, the others accept too.

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

/// A file we read whole (weights, IDX, the subset file, and what a gzip file inflates to): the
/// full MNIST training images are 47 MB, Fashion-MNIST's the same; 512 MiB leaves room for
/// bigger 28×28 sets while a hostile 10 MB gzip can no longer expand to 10 GiB.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// Images per batch when statistics run over a big input (eval, active units): memory stays
/// bounded whatever the number of images.
pub const STATS_CHUNK: usize = 1_000;

/// Length of a model slot's name.
pub const MAX_SLOT_NAME: usize = 64;

/// Divergence: training stops when a chunk's or an epoch's nELBO is this many nats per image
/// above the best seen in the run. An untrained model (σ = 1, mean 0.5) scores about 830 nats
/// per MNIST image, so a loss 10,000 nats above the best is worse than knowing nothing by an
/// order of magnitude; healthy runs never move by more than a few hundred nats between chunks.
/// (lr = 0.5 reaches 1e17.)
pub const DIVERGENCE_NATS: f64 = 10_000.0;
/// The largest KL weight β a run takes (β = 100 already switches every latent off).
pub const MAX_BETA: f64 = 100.0;

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
        ("maxSlotName", MAX_SLOT_NAME as f64),
        ("divergenceNats", DIVERGENCE_NATS),
        ("maxBeta", MAX_BETA),
        ("maxImportanceSamples", MAX_IMPORTANCE_SAMPLES as f64),
    ]
}
