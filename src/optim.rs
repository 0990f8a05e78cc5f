//! Adam whose state we can read back and restore.
//!
//! Why not burn's `ModuleOptimizer`: a resumable run must checkpoint Adam's moments every epoch,
//! in the browser too. burn's optimizer record reads its tensors back synchronously (which panics
//! on WebGPU) and rebuilds them on `Device::default()` (WebGPU in the wasm build, even when the
//! page runs on the CPU). Here the moments are plain tensors we own: [`Adam::state_tensor`] hands
//! them over for one (async) readback and [`Adam::restore`] puts them back on any device.
//!
//! The arithmetic is burn 0.22's `AdaptiveMomentum` step for step (β1 0.9, β2 0.999, ε 1e-5, no
//! weight decay), so training gives the same parameters to the bit; a test checks that.

use burn::module::{ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

use crate::error::VaeError;

use crate::config::{check_state, BETA_1, BETA_2, EPSILON};

/// Adam's first and second moments of one parameter tensor, flattened.
#[derive(Clone, Debug)]
struct Moments {
    m1: Tensor<1>,
    m2: Tensor<1>,
}

/// Adam over every float parameter of a module, in the module's visiting order.
#[derive(Clone, Debug, Default)]
pub struct Adam {
    /// Steps taken (the bias correction's t).
    time: usize,
    moments: Vec<Moments>,
}

impl Adam {
    pub fn new() -> Self {
        Self::default()
    }

    /// Steps taken so far.
    pub fn time(&self) -> usize {
        self.time
    }

    /// One Adam step: `module` (on an autodiff device) moved against `grads`.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, mut grads: GradientsParams) -> M {
        self.time += 1;
        let mut mapper = StepMapper {
            adam: self,
            lr,
            grads: &mut grads,
            index: 0,
        };
        module.map(&mut mapper)
    }

    /// Every moment as one flat tensor [m1 of each parameter..., m2 of each parameter...], for a
    /// single readback. Empty before the first step.
    pub fn state_tensor(&self) -> Option<Tensor<1>> {
        if self.moments.is_empty() {
            return None;
        }
        let parts = self
            .moments
            .iter()
            .map(|m| m.m1.clone())
            .chain(self.moments.iter().map(|m| m.m2.clone()));
        Some(Tensor::cat(parts.collect(), 0))
    }

    /// Rebuild from `time` and the floats of [`Adam::state_tensor`], for parameters of `sizes`.
    pub fn restore(
        time: usize,
        state: &[f32],
        sizes: &[usize],
        device: &Device,
    ) -> Result<Self, VaeError> {
        let total: usize = sizes.iter().sum();
        check_state(time, state, total)?;
        if time == 0 {
            return Ok(Self::new());
        }
        let (first, second) = state.split_at(total);
        let mut offset = 0;
        let moments = sizes
            .iter()
            .map(|&n| {
                let take = |v: &[f32]| {
                    Tensor::<1>::from_data(
                        TensorData::new(v[offset..offset + n].to_vec(), [n]),
                        device,
                    )
                };
                let m = Moments {
                    m1: take(first),
                    m2: take(second),
                };
                offset += n;
                m
            })
            .collect();
        Ok(Self { time, moments })
    }
}

struct StepMapper<'a> {
    adam: &'a mut Adam,
    lr: f64,
    grads: &'a mut GradientsParams,
    index: usize,
}

impl ModuleMapper for StepMapper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let index = self.index;
        self.index += 1;
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let value = tensor.inner();
        let dims = value.dims();
        let n = dims.iter().product::<usize>();
        let grad = grad.reshape([n]);
        let time = self.adam.time as i32;
        let moments = match self.adam.moments.get(index) {
            Some(m) => Moments {
                m1: m
                    .m1
                    .clone()
                    .mul_scalar(BETA_1)
                    .add(grad.clone().mul_scalar(1.0 - BETA_1)),
                m2: m
                    .m2
                    .clone()
                    .mul_scalar(BETA_2)
                    .add(grad.square().mul_scalar(1.0 - BETA_2)),
            },
            None => Moments {
                m1: grad.clone().mul_scalar(1.0 - BETA_1),
                m2: grad.square().mul_scalar(1.0 - BETA_2),
            },
        };
        let bias_correction2_sqrt = (1.0 - BETA_2.powi(time)).sqrt();
        let combined_factor = bias_correction2_sqrt / (1.0 - BETA_1.powi(time));
        let update = moments.m1.clone().mul_scalar(combined_factor).div(
            moments
                .m2
                .clone()
                .sqrt()
                .add_scalar(EPSILON * bias_correction2_sqrt),
        );
        let updated = value.reshape([n]) - update.mul_scalar(self.lr);
        if index < self.adam.moments.len() {
            self.adam.moments[index] = moments;
        } else {
            self.adam.moments.push(moments);
        }
        let mut out = Tensor::from_inner(updated.reshape(dims));
        if require_grad {
            out = out.require_grad();
        }
        Param::from_mapped_value(id, out, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Elbo;
    use crate::model::{ArchSpec, Vae};
    use crate::rng::Rng;
    use burn::optim::AdamConfig;

    fn batch(rng: &mut Rng, n: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let x: Vec<f32> = (0..n * 784).map(|_| rng.uniform() as f32).collect();
        (
            Tensor::from_data(TensorData::new(x, [n, 784]), device),
            crate::rng::noise(rng, n, 4, device),
        )
    }

    /// Same steps as burn's Adam, to the bit: the shipped weights stay reproducible.
    #[test]
    fn matches_burns_adam_exactly() {
        let device = crate::device::cpu_device().autodiff();
        let arch = ArchSpec::new(vec![16]).with_latent(4);
        let (mut ours, mut theirs) = (arch.init(&device, 3), arch.init(&device, 3));
        let mut adam = Adam::new();
        let mut burn_adam = AdamConfig::new().init();
        let mut rng = Rng::new(8);
        for _ in 0..6 {
            let (x, eps) = batch(&mut rng, 8, &device);
            let g = GradientsParams::from_grads(
                Elbo::compute(&ours, x.clone(), eps.clone())
                    .nelbo
                    .backward(),
                &ours,
            );
            ours = adam.step(1e-2, ours, g);
            let g = GradientsParams::from_grads(
                Elbo::compute(&theirs, x, eps).nelbo.backward(),
                &theirs,
            );
            theirs = burn_adam.step(1e-2, theirs, g);
        }
        let a = crate::device::read_f32(ours.valid().flat_params()).unwrap();
        let b = crate::device::read_f32(theirs.valid().flat_params()).unwrap();
        assert_eq!(a, b);
        assert_eq!(adam.time(), 6);
    }

    #[test]
    fn state_round_trip_continues_identically() {
        let device = crate::device::cpu_device().autodiff();
        let arch = ArchSpec::new(vec![8]).with_latent(4);
        let sizes: Vec<usize> = arch
            .param_shapes()
            .iter()
            .map(|s| s.iter().product())
            .collect();
        let mut model = arch.init(&device, 1);
        let mut adam = Adam::new();
        let mut rng = Rng::new(2);
        let step = |adam: &mut Adam, model: Vae, rng: &mut Rng| {
            let (x, eps) = batch(rng, 4, &device);
            let g =
                GradientsParams::from_grads(Elbo::compute(&model, x, eps).nelbo.backward(), &model);
            adam.step(1e-3, model, g)
        };
        for _ in 0..3 {
            model = step(&mut adam, model, &mut rng);
        }
        let state = crate::device::read_f32(adam.state_tensor().unwrap()).unwrap();
        let params = crate::device::read_f32(model.valid().flat_params()).unwrap();
        let mut restored = Adam::restore(adam.time(), &state, &sizes, &device).unwrap();
        let mut copy = arch.from_flat(&params, &device).unwrap().train();
        let mut rng2 = rng.clone();
        model = step(&mut adam, model, &mut rng);
        copy = step(&mut restored, copy, &mut rng2);
        assert_eq!(
            crate::device::read_f32(model.valid().flat_params()).unwrap(),
            crate::device::read_f32(copy.valid().flat_params()).unwrap()
        );
        assert!(Adam::restore(3, &state[1..], &sizes, &device).is_err());
    }
}
