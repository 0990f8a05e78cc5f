//! The training step in plain Rust: forward pass, backward pass and Adam over flat parameters.
//!
//! Why: on the CPU (the browser's fallback, and the CLI) a step of these small networks was about
//! sixty burn operations, each allocating, dispatching and recording itself for autodiff. In wasm
//! that bookkeeping was most of a step (2.4 ms for model C in Node). Here a step is the matrix
//! products it needs, each one blocked loop (4 rows x 8 columns of accumulators, wasm SIMD in the
//! browser) that skips the zeros of its left operand (a digit's background, ReLU's dead units),
//! plus a few element-wise loops over reused buffers.
//!
//! The arithmetic is [`crate::loss::Elbo`]'s objective and [`crate::optim::Adam`]'s update. Tests
//! check the gradients against burn's autodiff and a run of Adam steps against burn's training.
//! They agree up to float rounding, not to the bit (sums run in a different order). Natively on
//! x86-64 CPUs with AVX2 and FMA the products use fused multiply-adds, which round once instead
//! of twice: a seed gives the same run in every browser, and a near one natively and with burn.

use crate::config::{ArchSpec, BETA_1, BETA_2, EPSILON, HALF_LN_2PI, PIXELS};
use crate::data::Digits;
use crate::error::VaeError;
use crate::kernels::{gemm_nn, gemm_nt_masked, gemm_tn, relu_in_place, sigmoid_in_place, Scratch};
use crate::layout::{LayerAt, Layout};
use crate::rng::Rng;

/// Batch means of one step's objective parts (nats per image).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepLoss {
    pub nelbo: f32,
    pub kl: f32,
    pub rec: f32,
}

impl StepLoss {
    /// [nelbo, kl, rec, 1] * n, the sums the trainer accumulates (see `Metrics::from_sums`).
    pub fn weighted_sums(&self, n: usize) -> [f32; 4] {
        let w = n as f32;
        [self.nelbo * w, self.kl * w, self.rec * w, w]
    }
}

/// Held-out sums [nelbo, kl, rec, n] of `params` on `digits`, 500 images at a time with the
/// noise of `seed`: `crate::analysis::evaluate` in plain Rust (the same chunks and draws).
pub fn held_out_sums(
    arch: &ArchSpec,
    params: &[f32],
    digits: &Digits,
    seed: u64,
) -> Result<Vec<f32>, VaeError> {
    let mut rng = Rng::new(seed);
    let mut eval = DenseStep::new(arch, params.to_vec())?;
    let idx: Vec<usize> = (0..digits.len()).collect();
    let mut total = vec![0.0f32; 4];
    for chunk in idx.chunks(500) {
        let n = chunk.len();
        let eps = rng.normals(n * arch.latent);
        let loss = eval.loss(&digits.floats(chunk), &eps, n);
        for (t, v) in total.iter_mut().zip(loss.weighted_sums(n)) {
            *t += v;
        }
    }
    Ok(total)
}

/// A VAE in training on the host: its parameters, their gradients and Adam's moments, all laid
/// out like [`ArchSpec::param_shapes`], with the buffers of a step kept between steps.
pub struct DenseStep {
    arch: ArchSpec,
    /// Encoder layers (its head last), then decoder layers (the pixel layer last).
    layers: Vec<LayerAt>,
    /// How many of `layers` are the encoder's.
    n_enc: usize,
    params: Vec<f32>,
    grads: Vec<f32>,
    /// Adam's first and second moments (empty before the first step) and its step count.
    m1: Vec<f32>,
    m2: Vec<f32>,
    time: usize,
    /// Each layer's output for the batch: after ReLU for hidden layers, [mu, logvar] for the
    /// encoder head, the pixel means for the decoder.
    acts: Vec<Vec<f32>>,
    /// The reparameterised sample z = mu + std * eps, std = exp(logvar / 2), and exp(logvar).
    z: Vec<f32>,
    std: Vec<f32>,
    var: Vec<f32>,
    /// The gradient flowing back (of a layer's output), and of its input.
    delta: Vec<f32>,
    delta_in: Vec<f32>,
    scratch: Scratch,
}

/// What a forward pass hands to the loss: sums over the batch.
struct Forward {
    /// Sum over images and pixels of (x - mean)^2.
    sq: f64,
    /// Sum over images and latents of KL(q(z|x) || N(0, 1)).
    kl: f64,
}

impl DenseStep {
    /// From a flat parameter vector laid out as [`ArchSpec::param_shapes`], with Adam not started.
    pub fn new(arch: &ArchSpec, params: Vec<f32>) -> Result<Self, VaeError> {
        arch.check_flat(&params)?;
        let Layout { layers, n_enc, .. } = Layout::new(arch);
        Ok(Self {
            arch: arch.clone(),
            acts: vec![Vec::new(); layers.len()],
            layers,
            n_enc,
            grads: vec![0.0; params.len()],
            params,
            m1: Vec::new(),
            m2: Vec::new(),
            time: 0,
            z: Vec::new(),
            std: Vec::new(),
            var: Vec::new(),
            delta: Vec::new(),
            delta_in: Vec::new(),
            scratch: Scratch::default(),
        })
    }

    pub fn arch(&self) -> &ArchSpec {
        &self.arch
    }

    /// The parameters, laid out like [`ArchSpec::param_shapes`].
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// Replace the parameters (a rollback); Adam's moments stay.
    pub fn set_params(&mut self, params: &[f32]) {
        self.params.copy_from_slice(params);
    }

    /// The last [`DenseStep::gradients`], laid out like the parameters.
    pub fn grads(&self) -> &[f32] {
        &self.grads
    }

    /// Adam steps taken.
    pub fn time(&self) -> usize {
        self.time
    }

    /// Adam's moments as [m1 of every parameter..., m2 of every parameter...], the layout of
    /// [`crate::optim::Adam::state_tensor`]; empty before the first step.
    pub fn adam_state(&self) -> Vec<f32> {
        [self.m1.as_slice(), self.m2.as_slice()].concat()
    }

    /// Put back Adam's step count and moments (from [`DenseStep::adam_state`] or a checkpoint).
    pub fn restore_adam(&mut self, time: usize, state: &[f32]) -> Result<(), VaeError> {
        crate::config::check_state(time, state, self.params.len())?;
        self.time = time;
        self.m1 = state[..state.len() / 2].to_vec();
        self.m2 = state[state.len() / 2..].to_vec();
        Ok(())
    }

    /// One step: the gradients of rec + kl_weight * KL on x [n, 784] with noise eps [n, L], then
    /// Adam with learning rate `lr`. Returns the batch's losses before the update.
    pub fn step(&mut self, x: &[f32], eps: &[f32], n: usize, kl_weight: f32, lr: f64) -> StepLoss {
        let loss = self.gradients(x, eps, n, kl_weight);
        self.adam(lr);
        loss
    }

    /// The batch means of the objective's parts, without gradients.
    pub fn loss(&mut self, x: &[f32], eps: &[f32], n: usize) -> StepLoss {
        let f = self.forward(x, eps, n);
        self.loss_of(&f, n)
    }

    fn log_sigma(&self) -> f32 {
        self.params[self.params.len() - 1]
    }

    fn loss_of(&self, f: &Forward, n: usize) -> StepLoss {
        let ls = self.log_sigma();
        let inv_two_var = 0.5 * (-2.0 * ls as f64).exp();
        let rec = f.sq * inv_two_var / n as f64 + (ls as f64 + HALF_LN_2PI as f64) * PIXELS as f64;
        let kl = f.kl / n as f64;
        StepLoss {
            nelbo: (rec + kl) as f32,
            kl: kl as f32,
            rec: rec as f32,
        }
    }

    /// Forward pass of x [n, 784] with noise eps [n, L]: fills the activations.
    fn forward(&mut self, x: &[f32], eps: &[f32], n: usize) -> Forward {
        let l = self.arch.latent;
        assert_eq!(x.len(), n * PIXELS, "x is [n, 784]");
        assert_eq!(eps.len(), n * l, "eps is [n, latent]");
        let mut kl = 0.0f64;
        for i in 0..self.layers.len() {
            let layer = self.layers[i];
            let mut out = std::mem::take(&mut self.acts[i]);
            out.resize(n * layer.d_out, 0.0);
            let input: &[f32] = match i {
                0 => x,
                i if i == self.n_enc => &self.z,
                i => &self.acts[i - 1],
            };
            gemm_nn(
                input,
                n,
                layer.d_in,
                &self.params[layer.w..layer.b],
                layer.d_out,
                Some(&self.params[layer.b..layer.b + layer.d_out]),
                &mut out,
                &mut self.scratch,
            );
            if layer.relu {
                relu_in_place(&mut out);
            }
            self.acts[i] = out;
            if i == self.n_enc - 1 {
                kl = self.reparameterise(eps, n);
            }
        }
        let mean = self.acts.last_mut().expect("a decoder");
        if self.arch.output.is_sigmoid() {
            sigmoid_in_place(mean);
        }
        let sq: f64 = x
            .chunks_exact(PIXELS)
            .zip(mean.chunks_exact(PIXELS))
            .map(|(xr, mr)| {
                let s: f32 = xr.iter().zip(mr).map(|(a, b)| (a - b) * (a - b)).sum();
                s as f64
            })
            .sum();
        Forward { sq, kl }
    }

    /// z = mu + exp(logvar / 2) * eps from the encoder head's output; returns the summed KL.
    fn reparameterise(&mut self, eps: &[f32], n: usize) -> f64 {
        let l = self.arch.latent;
        let head = &self.acts[self.n_enc - 1];
        for v in [&mut self.z, &mut self.std, &mut self.var] {
            v.resize(n * l, 0.0);
        }
        let mut kl = 0.0f64;
        for r in 0..n {
            let (mu, logvar) = head[r * 2 * l..(r + 1) * 2 * l].split_at(l);
            for j in 0..l {
                let i = r * l + j;
                let var = logvar[j].exp();
                let std = (logvar[j] * 0.5).exp();
                self.var[i] = var;
                self.std[i] = std;
                self.z[i] = mu[j] + std * eps[i];
                kl += (0.5 * (mu[j] * mu[j] + var - logvar[j] - 1.0)) as f64;
            }
        }
        kl
    }

    /// The gradients of rec + kl_weight * KL (batch means) into [`DenseStep::grads`].
    pub fn gradients(&mut self, x: &[f32], eps: &[f32], n: usize, kl_weight: f32) -> StepLoss {
        let f = self.forward(x, eps, n);
        let loss = self.loss_of(&f, n);
        let (l, inv_n) = (self.arch.latent, 1.0 / n as f32);
        let p = self.params.len();
        // d rec / d log sigma = 784 - e^(-2 log sigma) * sum (x - mean)^2 / n
        let inv_var = (-2.0 * self.log_sigma()).exp();
        self.grads[p - 1] = PIXELS as f32 - (inv_var as f64 * f.sq / n as f64) as f32;
        // d rec / d mean = (mean - x) / (sigma^2 n), through the sigmoid: * mean (1 - mean)
        let sigmoid = self.arch.output.is_sigmoid();
        let mean = self.acts.last().expect("a decoder");
        self.delta.clear();
        self.delta.extend(x.iter().zip(mean).map(|(&xv, &m)| {
            let d = (m - xv) * inv_var * inv_n;
            if sigmoid {
                d * m * (1.0 - m)
            } else {
                d
            }
        }));
        let last = self.layers.len() - 1;
        for i in (self.n_enc..=last).rev() {
            self.layer_backward(i, x, n, true);
        }
        // self.delta is now d/dz [n, L]; through z = mu + std * eps and the KL to the head's
        // output [n, 2L] = [d/dmu, d/dlogvar]
        let head = &self.acts[self.n_enc - 1];
        self.delta_in.resize(n * 2 * l, 0.0);
        for r in 0..n {
            for j in 0..l {
                let i = r * l + j;
                let dz = self.delta[i];
                let mu = head[r * 2 * l + j];
                self.delta_in[r * 2 * l + j] = dz + kl_weight * mu * inv_n;
                self.delta_in[r * 2 * l + l + j] =
                    dz * eps[i] * 0.5 * self.std[i] + kl_weight * 0.5 * (self.var[i] - 1.0) * inv_n;
            }
        }
        std::mem::swap(&mut self.delta, &mut self.delta_in);
        for i in (0..self.n_enc).rev() {
            self.layer_backward(i, x, n, i > 0);
        }
        loss
    }

    /// Layer i's weight and bias gradients from the gradient of its output (`delta`), and, if
    /// `input_grad`, the gradient of its input into `delta` (ReLU's mask applied).
    fn layer_backward(&mut self, i: usize, x: &[f32], n: usize, input_grad: bool) {
        let layer = self.layers[i];
        let (d_in, d_out) = (layer.d_in, layer.d_out);
        let input: &[f32] = match i {
            0 => x,
            i if i == self.n_enc => &self.z,
            i => &self.acts[i - 1],
        };
        let (w_grad, rest) = self.grads[layer.w..].split_at_mut(d_in * d_out);
        gemm_tn(
            input,
            n,
            d_in,
            &self.delta,
            d_out,
            w_grad,
            &mut self.scratch,
        );
        let b_grad = &mut rest[..d_out];
        b_grad.fill(0.0);
        for row in self.delta.chunks_exact(d_out) {
            for (g, d) in b_grad.iter_mut().zip(row) {
                *g += d;
            }
        }
        if !input_grad {
            return;
        }
        // the input came out of a ReLU (but z): no gradient where it was cut to 0
        let keep = (i != self.n_enc).then_some(input);
        self.delta_in.resize(n * d_in, 0.0);
        gemm_nt_masked(
            &self.delta,
            n,
            d_out,
            &self.params[layer.w..layer.b],
            d_in,
            keep,
            &mut self.delta_in,
            &mut self.scratch,
        );
        std::mem::swap(&mut self.delta, &mut self.delta_in);
    }

    /// One Adam step over every parameter with the last gradients: burn 0.22's
    /// `AdaptiveMomentum` (β1 0.9, β2 0.999, ε 1e-5), operation for operation.
    pub fn adam(&mut self, lr: f64) {
        self.time += 1;
        if self.m1.is_empty() {
            self.m1 = vec![0.0; self.params.len()];
            self.m2 = vec![0.0; self.params.len()];
        }
        let t = self.time as i32;
        let bias_correction2_sqrt = (1.0 - BETA_2.powi(t)).sqrt();
        let combined_factor = bias_correction2_sqrt / (1.0 - BETA_1.powi(t));
        let epsilon = EPSILON * bias_correction2_sqrt;
        let lr = lr as f32;
        for (((p, &g), m1), m2) in self
            .params
            .iter_mut()
            .zip(&self.grads)
            .zip(&mut self.m1)
            .zip(&mut self.m2)
        {
            *m1 = *m1 * BETA_1 + g * (1.0 - BETA_1);
            *m2 = *m2 * BETA_2 + g * g * (1.0 - BETA_2);
            *p -= *m1 * combined_factor / (m2.sqrt() + epsilon) * lr;
        }
    }

    /// Squared L2 norm of the last gradients per parameter group ([`ArchSpec::layer_names`]):
    /// each layer's weight and bias, then log sigma.
    pub fn grad_norms_sq(&self) -> Vec<f32> {
        let sq = |s: &[f32]| s.iter().map(|g| g * g).sum::<f32>();
        let mut out: Vec<f32> = self
            .layers
            .iter()
            .map(|l| sq(&self.grads[l.w..l.b + l.d_out]))
            .collect();
        out.push(sq(&self.grads[self.grads.len() - 1..]));
        out
    }
}

#[cfg(all(test, feature = "engine"))]
mod tests {
    use super::*;
    use crate::loss::Elbo;
    use crate::model::DecoderOutput;
    use crate::optim::Adam;
    use burn::optim::GradientsParams;
    use burn::prelude::*;

    /// Digit-like inputs: mostly exact zeros, the rest in (0, 1].
    fn digits(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n * PIXELS)
            .map(|_| {
                let u = rng.uniform() as f32;
                if u < 0.7 {
                    0.0
                } else {
                    (u - 0.7) / 0.3
                }
            })
            .collect()
    }

    use crate::kernels::assert_close_rel as close;

    /// burn's gradients of rec + w * KL for the same parameters, batch and noise.
    fn burn_grads(
        arch: &ArchSpec,
        flat: &[f32],
        x: &[f32],
        eps: &[f32],
        n: usize,
        w: f32,
    ) -> Vec<f32> {
        let device = crate::device::cpu_device().autodiff();
        let model = arch.from_flat(flat, &device).unwrap();
        let xt = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [n, PIXELS]), &device);
        let et = Tensor::<2>::from_data(TensorData::new(eps.to_vec(), [n, arch.latent]), &device);
        let elbo = Elbo::compute(&model, xt, et);
        let grads = (elbo.rec + elbo.kl * w).backward();
        crate::device::read_f32(model.flat_grads(&grads)).unwrap()
    }

    /// Every architecture shape the app trains (no hidden layer, one, three; widths that are not
    /// multiples of the kernel's blocks; a batch that is not either; both decoder outputs, a KL
    /// weight other than 1): the same gradients as burn's autodiff.
    #[test]
    fn gradients_match_burns_autodiff() {
        let cases = [
            (ArchSpec::preset("A").unwrap(), 8, 1.0),
            (ArchSpec::preset("C").unwrap(), 13, 1.0),
            (ArchSpec::preset("E").unwrap(), 6, 0.3),
            (
                ArchSpec::new(vec![10, 5])
                    .with_latent(3)
                    .with_output(DecoderOutput::Linear),
                5,
                2.0,
            ),
        ];
        for (arch, n, w) in cases {
            let device = crate::device::cpu_device();
            let flat = crate::device::read_f32(arch.init(&device, 5).flat_params()).unwrap();
            let mut rng = Rng::new(11);
            let x = digits(&mut rng, n);
            let eps = rng.normals(n * arch.latent);
            let mut step = DenseStep::new(&arch, flat.clone()).unwrap();
            let loss = step.gradients(&x, &eps, n, w);
            let theirs = burn_grads(&arch, &flat, &x, &eps, n, w);
            close(step.grads(), &theirs, 1e-4, &arch.label());
            // and the losses themselves
            let dev = crate::device::cpu_device();
            let model = arch.from_flat(&flat, &dev).unwrap();
            let elbo = Elbo::compute(
                &model,
                Tensor::from_data(TensorData::new(x.clone(), [n, PIXELS]), &dev),
                Tensor::from_data(TensorData::new(eps.clone(), [n, arch.latent]), &dev),
            );
            let nelbo = crate::device::read_f32(elbo.nelbo).unwrap()[0];
            let kl = crate::device::read_f32(elbo.kl).unwrap()[0];
            assert!(
                (loss.nelbo - nelbo).abs() < 1e-4 * nelbo.abs(),
                "{} nelbo {} vs {nelbo}",
                arch.label(),
                loss.nelbo
            );
            assert!(
                (loss.kl - kl).abs() < 1e-4 * kl.abs().max(1.0),
                "{} kl {} vs {kl}",
                arch.label(),
                loss.kl
            );
        }
    }

    /// Twenty Adam steps here and in burn (our Adam on burn's autodiff) end at the same weights up
    /// to rounding, and Adam's moments agree too.
    #[test]
    fn adam_steps_follow_burns_training() {
        let arch = ArchSpec::preset("B").unwrap();
        let device = crate::device::cpu_device().autodiff();
        let mut model = arch.init(&device, 2);
        let flat = crate::device::read_f32(model.valid().flat_params()).unwrap();
        let mut step = DenseStep::new(&arch, flat).unwrap();
        let mut adam = Adam::new();
        let mut rng = Rng::new(4);
        let n = 16;
        for _ in 0..20 {
            let x = digits(&mut rng, n);
            let eps = rng.normals(n * arch.latent);
            step.step(&x, &eps, n, 1.0, 1e-3);
            let xt = Tensor::<2>::from_data(TensorData::new(x, [n, PIXELS]), &device);
            let et = Tensor::<2>::from_data(TensorData::new(eps, [n, arch.latent]), &device);
            let g =
                GradientsParams::from_grads(Elbo::compute(&model, xt, et).nelbo.backward(), &model);
            model = adam.step(1e-3, model, g);
        }
        let theirs = crate::device::read_f32(model.valid().flat_params()).unwrap();
        close(step.params(), &theirs, 1e-4, "params after 20 steps");
        let state = crate::device::read_f32(adam.state_tensor().unwrap()).unwrap();
        let ours = step.adam_state();
        let p = theirs.len();
        close(&ours[..p], &state[..p], 1e-3, "first moments");
        close(&ours[p..], &state[p..], 1e-3, "second moments");
        assert_eq!(step.time(), 20);
    }

    /// The products against a plain triple loop, on sizes that leave remainders everywhere and
    /// operands with zeros in them.
    #[test]
    fn adam_state_round_trips_and_refuses_bad_state() {
        let arch = ArchSpec::new(vec![8]).with_latent(2);
        let flat =
            crate::device::read_f32(arch.init(&crate::device::cpu_device(), 1).flat_params())
                .unwrap();
        let mut a = DenseStep::new(&arch, flat.clone()).unwrap();
        let mut rng = Rng::new(3);
        let batches: Vec<(Vec<f32>, Vec<f32>)> = (0..4)
            .map(|_| (digits(&mut rng, 4), rng.normals(8)))
            .collect();
        for (x, e) in &batches[..3] {
            a.step(x, e, 4, 1.0, 1e-3);
        }
        let mut b = DenseStep::new(&arch, a.params().to_vec()).unwrap();
        b.restore_adam(a.time(), &a.adam_state()).unwrap();
        let (x, e) = &batches[3];
        a.step(x, e, 4, 1.0, 1e-3);
        b.step(x, e, 4, 1.0, 1e-3);
        assert_eq!(a.params(), b.params());
        let state = a.adam_state();
        assert!(b.restore_adam(3, &state[1..]).is_err());
        assert!(b.restore_adam(0, &state).is_err());
        let mut nan = state.clone();
        nan[5] = f32::NAN;
        assert!(b.restore_adam(3, &nan).is_err());
    }
}
