//! What takes a run's steps: burn's autodiff on the device (WebGPU), or the step in plain Rust
//! (the CPU's). Every difference between the two is in [`Engine`]'s methods; the [`Trainer`]
//! (`super`) never asks which one it has.

use burn::optim::GradientsParams;
use burn::prelude::*;

use crate::analysis::evaluate;
use crate::config::{ArchSpec, StepEngine, TrainingConfig, HELD_OUT_SEED};
use crate::data::Digits;
use crate::dense_step::{held_out_sums, DenseStep};
use crate::error::VaeError;
use crate::loss::Elbo;
use crate::model::Vae;
use crate::optim::Adam;
use crate::rng::{noise, Rng};
use crate::runner::Runner;

/// Numbers of a step or an epoch, left where the engine computed them: plain floats for the
/// plain-Rust step (never wrapped into a tensor just to be read back), a tensor on the device for
/// burn's (read back asynchronously, once, on WebGPU).
#[derive(Clone)]
pub(super) enum Floats {
    Host(Vec<f32>),
    Device(Tensor<1>),
}

impl Floats {
    pub(super) fn zeros() -> Self {
        Floats::Host(vec![0.0; 4])
    }

    /// Element-wise sum (a sum of zeros is the other side exactly, as before).
    pub(super) fn add(self, more: Floats) -> Floats {
        match (self, more) {
            (Floats::Host(a), Floats::Host(b)) => {
                Floats::Host(a.iter().zip(&b).map(|(x, y)| x + y).collect())
            }
            (Floats::Device(a), Floats::Device(b)) => Floats::Device(a + b),
            (Floats::Host(h), Floats::Device(d)) | (Floats::Device(d), Floats::Host(h)) => {
                if h.iter().all(|v| *v == 0.0) {
                    return Floats::Device(d);
                }
                let device = d.device();
                let len = h.len();
                Floats::Device(d + Tensor::from_data(TensorData::new(h, [len]), &device))
            }
        }
    }

    pub(super) async fn read(self) -> Result<Vec<f32>, VaeError> {
        match self {
            Floats::Host(v) => Ok(v),
            Floats::Device(t) => crate::device::read_f32_async(t).await,
        }
    }
}

/// Where a run's weights start.
#[allow(clippy::large_enum_variant)] // one value per run, moved once: boxing would buy nothing
pub enum Start {
    /// Fresh weights from the config's seed ([`ArchSpec::init_params`]).
    Seed,
    /// Given weights, flat as [`ArchSpec::param_shapes`] (a warm start, a restored checkpoint).
    Params(Vec<f32>),
    /// A model already on the device (a warm start from the page's current weights, which on
    /// WebGPU cannot be read back synchronously).
    Model(Vae),
}

/// One step's mini-batch and settings.
pub(super) struct Batch<'a> {
    pub digits: &'a Digits,
    pub idx: &'a [usize],
    pub noise: &'a mut Rng,
    pub train_device: &'a Device,
    pub kl_weight: f64,
    pub lr: f64,
    pub track_grad_norms: bool,
}

impl From<&Runner> for Start {
    /// A warm start from a slot's runner: its weights where they are (no readback).
    fn from(runner: &Runner) -> Self {
        match runner {
            Runner::Device { model, .. } => Start::Model(model.clone()),
            Runner::Host { params, .. } => Start::Params(params.clone()),
        }
    }
}

/// What takes the steps. Both run the same objective and the same Adam on the same batches and
/// noise; they differ in float rounding only (tests check them against each other). Every
/// difference between them is in this type's methods.
#[allow(clippy::large_enum_variant)] // one per run: boxing would buy nothing
pub(super) enum Engine {
    /// burn's autodiff and our [`Adam`] on the device's backend: WebGPU in the browser, or the
    /// CPU when asked for ([`Trainer::use_burn`]). `last_good`: the model at the end of the last
    /// good epoch, for a rollback.
    Burn {
        model: Vae,
        optim: Adam,
        last_good: Vae,
    },
    /// The step in plain Rust ([`DenseStep`]): the CPU's, about twice as fast there.
    Dense {
        step: DenseStep,
        last_good: Vec<f32>,
    },
}

impl Engine {
    pub(super) fn kind(&self) -> StepEngine {
        match self {
            Engine::Burn { .. } => StepEngine::Burn,
            Engine::Dense { .. } => StepEngine::Dense,
        }
    }

    pub(super) fn adam_time(&self) -> usize {
        match self {
            Engine::Burn { optim, .. } => optim.time(),
            Engine::Dense { step, .. } => step.time(),
        }
    }

    /// Parameters, then Adam's moments (none before the first step).
    pub(super) fn state(&self) -> Floats {
        match self {
            Engine::Burn { model, optim, .. } => {
                let params = model.valid().flat_params();
                Floats::Device(match optim.state_tensor() {
                    Some(state) => Tensor::cat(vec![params, state], 0),
                    None => params,
                })
            }
            Engine::Dense { step, .. } => {
                Floats::Host([step.params(), &step.adam_state()].concat())
            }
        }
    }

    /// The current weights as an inference model on `device` (the plain one).
    pub(super) fn model(&self, arch: &ArchSpec, device: &Device) -> Vae {
        match self {
            Engine::Burn { model, .. } => model.valid(),
            Engine::Dense { step, .. } => arch
                .build(step.params(), device)
                .expect("the step's parameters fit its architecture"),
        }
    }

    /// The current weights as a [`Runner`] for `device`'s engine (no readback).
    pub(super) fn runner(&self, arch: &ArchSpec, device: &Device) -> Result<Runner, VaeError> {
        match self {
            Engine::Burn { model, .. } => Ok(Runner::on_device(model.valid())),
            Engine::Dense { step, .. } => Runner::new(arch, step.params().to_vec(), device),
        }
    }

    /// The epoch ended well: remember its weights for a rollback. The plain-Rust step's products
    /// skip zero inputs, so a NaN weight can sit where no input reaches it without showing in the
    /// loss: its weights themselves are checked (the error names the parameter).
    pub(super) fn keep_good(&mut self) -> Result<(), String> {
        match self {
            Engine::Burn {
                model, last_good, ..
            } => *last_good = model.valid(),
            Engine::Dense { step, last_good } => {
                if let Some(i) = step.params().iter().position(|v| !v.is_finite()) {
                    return Err(format!("parameter {i} is not finite"));
                }
                last_good.clear();
                last_good.extend_from_slice(step.params());
            }
        }
        Ok(())
    }

    pub(super) fn roll_back(&mut self, train_device: &Device) {
        match self {
            Engine::Burn {
                model, last_good, ..
            } => *model = last_good.clone().fork(train_device).train(),
            Engine::Dense { step, last_good } => step.set_params(last_good),
        }
    }

    pub(super) fn new(
        config: &TrainingConfig,
        start: Start,
        device: &Device,
        train_device: &Device,
    ) -> Result<Self, VaeError> {
        // the CPU steps in plain Rust; other devices (WebGPU) through burn
        Ok(if crate::device::is_host(device) {
            let params = match start {
                Start::Seed => config.arch.init_params(config.seed),
                Start::Params(p) => p,
                Start::Model(m) => crate::device::read_f32(m.flat_params())?,
            };
            config.arch.check_flat(&params)?;
            if let Some(i) = params.iter().position(|v| !v.is_finite()) {
                return Err(VaeError::Invalid(format!("parameter {i} is not finite")));
            }
            Engine::Dense {
                last_good: params.clone(),
                step: DenseStep::new(&config.arch, params)?,
            }
        } else {
            let model = match start {
                Start::Seed => config.arch.init(device, config.seed),
                Start::Params(p) => config.arch.from_flat(&p, device)?,
                Start::Model(m) => m,
            };
            Engine::Burn {
                model: model.clone().fork(train_device).train(),
                optim: Adam::new(),
                last_good: model,
            }
        })
    }

    /// One Adam step on `b`: the batch's sums [nelbo, kl, rec, 1] × n and, when tracked, the
    /// squared gradient norm of each parameter group.
    pub(super) fn step(&mut self, b: Batch) -> (Floats, Option<Floats>) {
        let (n, weight) = (b.idx.len(), b.kl_weight);
        match self {
            Engine::Burn { model, optim, .. } => {
                let latent = model.latent();
                let x = b.digits.batch(b.idx, b.train_device);
                let eps = noise(b.noise, n, latent, b.train_device);
                let elbo = Elbo::compute(model, x, eps);
                let sums = elbo.weighted_sums(n).inner();
                // the objective: exactly the nELBO at weight 1 (the same graph as before β existed)
                let objective = if weight == 1.0 {
                    elbo.nelbo
                } else {
                    elbo.rec + elbo.kl * weight
                };
                let grads = GradientsParams::from_grads(objective.backward(), &*model);
                let norms = b
                    .track_grad_norms
                    .then(|| Floats::Device(model.grad_norms_sq(&grads)));
                *model = optim.step(b.lr, model.clone(), grads);
                (Floats::Device(sums), norms)
            }
            Engine::Dense { step, .. } => {
                let x = b.digits.floats(b.idx);
                let eps = b.noise.normals(n * step.arch().latent);
                let loss = step.step(&x, &eps, n, weight as f32, b.lr);
                let norms = b
                    .track_grad_norms
                    .then(|| Floats::Host(step.grad_norms_sq()));
                (Floats::Host(loss.weighted_sums(n).to_vec()), norms)
            }
        }
    }

    /// Held-out sums of the current weights on `test` (fixed noise, [`HELD_OUT_SEED`]).
    pub(super) fn evaluate(&self, arch: &ArchSpec, test: &Digits, device: &Device) -> Floats {
        match self {
            Engine::Burn { .. } => Floats::Device(evaluate(
                &self.model(arch, device),
                test,
                device,
                HELD_OUT_SEED,
            )),
            Engine::Dense { step, .. } => Floats::Host(
                held_out_sums(arch, step.params(), test, HELD_OUT_SEED)
                    .expect("the step's parameters fit its architecture"),
            ),
        }
    }

    /// From the plain-Rust step to burn's autodiff, keeping the weights and Adam's state.
    pub(super) fn use_burn(
        &mut self,
        arch: &ArchSpec,
        device: &Device,
        train_device: &Device,
    ) -> Result<(), VaeError> {
        let Engine::Dense { step, last_good } = self else {
            return Ok(());
        };
        let model = arch.build(step.params(), device)?;
        let optim = Adam::restore(step.time(), &step.adam_state(), &arch.param_sizes(), device)?;
        let last_good = arch.build(last_good, device)?;
        *self = Engine::Burn {
            model: model.fork(train_device).train(),
            optim,
            last_good,
        };
        Ok(())
    }

    /// Adam's state from a checkpoint ([`Engine::state`] after the parameters).
    pub(super) fn restore_adam(
        &mut self,
        time: usize,
        state: &[f32],
        arch: &ArchSpec,
        device: &Device,
    ) -> Result<(), VaeError> {
        match self {
            Engine::Burn { optim, .. } => {
                *optim = Adam::restore(time, state, &arch.param_sizes(), device)?
            }
            Engine::Dense { step, .. } => step.restore_adam(time, state)?,
        }
        Ok(())
    }
}
