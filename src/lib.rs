//! VAE Lab core: Gaussian variational autoencoders on MNIST with burn.
//!
//! * [`model`]: [`ArchSpec`] (presets A–E of the report) and the [`Vae`] module.
//! * [`loss`]: the negative ELBO and its parts ([`Elbo`]).
//! * [`data`]: digits, the compact subset file, IDX files, the stratified split.
//! * [`training`]: Adam on the nELBO as a step-wise [`Trainer`].
//! * [`analysis`]: reconstructions, samples, fixed-point chains, posterior collapse, PCA,
//!   drawing preprocessing.
//! * [`weights`]: the self-describing weights file.
//! * [`checkpoint`]: a training run frozen at an epoch end, to resume it.
//! * [`optim`]: Adam with a state we can read back; [`limits`]: every cap, with its reason.
//! * [`dense_step`]: the training step (forward, backward, Adam) in plain Rust ([`dense_step::DenseStep`]),
//!   the CPU's, checked against burn's autodiff.
//! * [`infer`]: the forward pass in plain Rust ([`infer::DenseVae`]) for the page's interactive
//!   paths, checked against burn's.
//! * [`lab`]: what the CLI and the wasm layer both need (options, presets, metadata, progress).
//!
//! The backend is chosen by the `Device`: ndarray on the CPU, wgpu (WebGPU) in the browser.

pub mod analysis;
pub mod checkpoint;
pub mod data;
pub mod dense_step;
pub mod infer;
pub mod lab;
pub mod limits;
pub mod loss;
pub mod model;
pub mod optim;
pub mod rng;
pub mod training;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
pub mod weights;

pub use analysis::{CollapseStats, FixedPointChain};
pub use data::{Digits, Split};
pub use loss::Elbo;
pub use model::{ArchSpec, Vae};
pub use training::{Metrics, StepEngine, Trainer, TrainingConfig};
pub use weights::{WeightsFile, WeightsMeta};

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

/// burn's ndarray CPU backend: the native default and the browser's fallback. (burn 0.22 marks
/// it deprecated in favour of `flex`, but ndarray is the faster of the two in wasm here.)
#[allow(deprecated)]
pub fn cpu_device() -> Device {
    #[cfg(feature = "flex")]
    return Device::flex();
    #[cfg(not(feature = "flex"))]
    Device::ndarray()
}

/// Read a float tensor back synchronously (native only: WebGPU needs [`read_f32_async`]).
pub fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, VaeError> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| VaeError::Readback(format!("{e:?}")))
}

/// Read a float tensor back asynchronously (required on WebGPU).
pub async fn read_f32_async<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, VaeError> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| VaeError::Readback(format!("{e:?}")))?;
    data.try_to_vec::<f32>()
        .map_err(|e| VaeError::Readback(format!("{e:?}")))
}
