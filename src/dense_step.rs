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

use crate::infer::sigmoid_in_place;
use crate::loss::HALF_LN_2PI;
use crate::model::{ArchSpec, PIXELS};
use crate::optim::{BETA_1, BETA_2, EPSILON};
use crate::VaeError;

/// One fully connected layer's place in the flat parameter vector.
#[derive(Clone, Copy, Debug)]
struct Layer {
    /// Offset of the weight [d_in, d_out] (row-major, like burn's `Linear`).
    w: usize,
    /// Offset of the bias [d_out].
    b: usize,
    d_in: usize,
    d_out: usize,
    /// ReLU after it (the hidden layers).
    relu: bool,
}

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

/// A VAE in training on the host: its parameters, their gradients and Adam's moments, all laid
/// out like [`ArchSpec::param_shapes`], with the buffers of a step kept between steps.
pub struct DenseStep {
    arch: ArchSpec,
    /// Encoder layers (its head last), then decoder layers (the pixel layer last).
    layers: Vec<Layer>,
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
        let shapes = arch.param_shapes();
        let mut layers = Vec::new();
        let mut offset = 0;
        for pair in shapes[..shapes.len() - 1].chunks(2) {
            let (d_in, d_out) = (pair[0][0], pair[0][1]);
            layers.push(Layer {
                w: offset,
                b: offset + d_in * d_out,
                d_in,
                d_out,
                relu: true,
            });
            offset += d_in * d_out + d_out;
        }
        let n_enc = arch.hidden.len() + 1;
        layers[n_enc - 1].relu = false;
        layers.last_mut().expect("a decoder").relu = false;
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
        crate::optim::check_state(time, state, self.params.len())?;
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

/// max(v, 0) for each v: a comparison, not f32::max (a call per element in wasm). NaN stays NaN,
/// as in burn, so that a broken weight shows in the loss rather than as a dead unit.
pub(crate) fn relu_in_place(v: &mut [f32]) {
    v.iter_mut()
        .for_each(|v| *v = if *v <= 0.0 { 0.0 } else { *v });
}

/// Buffers the matrix products reuse.
#[derive(Default)]
struct Scratch {
    /// Nonzero entries of the left operand (values and where they are), by row or by column.
    vals: Vec<f32>,
    idx: Vec<usize>,
    /// By column: column i's entries are `start[i]..start[i + 1]` of the `col_*` buffers.
    start: Vec<usize>,
    col_vals: Vec<f32>,
    col_idx: Vec<usize>,
    /// Where each row's nonzeros end in `vals`, and each column's next free slot.
    ends: Vec<usize>,
    next: Vec<usize>,
}

/// The nonzero entries of `row` into the front of `vals` and `idx` (which must hold row.len()
/// entries from `at`); returns where they end. Branch-free: on digits, whose zeros follow no
/// pattern a branch predictor can learn, branches cost more than the copies.
fn gather_row(row: &[f32], vals: &mut [f32], idx: &mut [usize], at: usize) -> usize {
    let (vals, idx) = (&mut vals[at..at + row.len()], &mut idx[at..at + row.len()]);
    let mut c = 0;
    for (i, &v) in row.iter().enumerate() {
        vals[c] = v;
        idx[c] = i;
        c += (v != 0.0) as usize;
    }
    at + c
}

/// c [m, n] = a [m, k] b [k, n] (+ bias), all row-major, overwriting c. Each row of c sums
/// only the rows of b where that row of a is not zero: a digit's background and ReLU's dead
/// units cost nothing.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn gemm_nn(
    a: &[f32],
    m: usize,
    k: usize,
    b: &[f32],
    n: usize,
    bias: Option<&[f32]>,
    c: &mut [f32],
    s: &mut Scratch,
) {
    debug_assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    s.vals.resize(k, 0.0);
    s.idx.resize(k, 0);
    for (row, out) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
        match bias {
            Some(bias) => out.copy_from_slice(bias),
            None => out.fill(0.0),
        }
        let nnz = gather_row(row, &mut s.vals, &mut s.idx, 0);
        axpy_sum(&s.vals[..nnz], &s.idx[..nnz], b, n, out);
    }
}

/// c [m, n] = a [m, k] w [k, n] + bias: a layer's forward pass, for [`crate::infer`].
pub(crate) fn affine(
    a: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    n: usize,
    bias: &[f32],
    c: &mut [f32],
) {
    gemm_nn(a, m, k, w, n, Some(bias), c, &mut Scratch::default());
}

/// c [k, n] = a^T b for a [m, k] and b [m, n], row-major, overwriting c: a weight's gradient,
/// inputs^T x output gradients. Row i of c sums only the rows of b where column i of a is not
/// zero (found in one pass over a, then sorted by column).
#[inline(never)]
fn gemm_tn(a: &[f32], m: usize, k: usize, b: &[f32], n: usize, c: &mut [f32], s: &mut Scratch) {
    debug_assert!(a.len() == m * k && b.len() == m * n && c.len() == k * n);
    // every row's nonzeros, one after another (the column of each in `idx`)
    s.vals.resize(m * k, 0.0);
    s.idx.resize(m * k, 0);
    s.ends.clear();
    let mut at = 0;
    for row in a.chunks_exact(k) {
        at = gather_row(row, &mut s.vals, &mut s.idx, at);
        s.ends.push(at);
    }
    // counting sort by column; rows stay ascending within a column
    s.start.clear();
    s.start.resize(k + 1, 0);
    for &i in &s.idx[..at] {
        s.start[i + 1] += 1;
    }
    for i in 0..k {
        s.start[i + 1] += s.start[i];
    }
    s.col_vals.resize(at, 0.0);
    s.col_idx.resize(at, 0);
    s.next.clear();
    s.next.extend_from_slice(&s.start[..k]);
    let mut from = 0;
    for (r, &end) in s.ends.iter().enumerate() {
        for (&i, &v) in s.idx[from..end].iter().zip(&s.vals[from..end]) {
            s.col_vals[s.next[i]] = v;
            s.col_idx[s.next[i]] = r;
            s.next[i] += 1;
        }
        from = end;
    }
    for (i, out) in c.chunks_exact_mut(n).enumerate() {
        out.fill(0.0);
        let range = s.start[i]..s.start[i + 1];
        axpy_sum(&s.col_vals[range.clone()], &s.col_idx[range], b, n, out);
    }
}

/// c [m, k] = d [m, n] w^T for w [k, n], row-major, where `keep` [m, k] is not zero (a ReLU's
/// output: where it was positive); 0 elsewhere.
/// The gradient of a layer's input (w its weight, d its output's gradient) with the ReLU's mask
/// of that input applied: the masked entries are never computed.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn gemm_nt_masked(
    d: &[f32],
    m: usize,
    n: usize,
    w: &[f32],
    k: usize,
    keep: Option<&[f32]>,
    c: &mut [f32],
    s: &mut Scratch,
) {
    debug_assert!(d.len() == m * n && w.len() == k * n && c.len() == m * k);
    s.vals.resize(k, 0.0);
    s.idx.resize(k, 0);
    for (r, (drow, out)) in d.chunks_exact(n).zip(c.chunks_exact_mut(k)).enumerate() {
        out.fill(0.0);
        let active = match keep {
            Some(keep) => gather_row(&keep[r * k..(r + 1) * k], &mut s.vals, &mut s.idx, 0),
            None => {
                s.idx.iter_mut().enumerate().for_each(|(i, x)| *x = i);
                k
            }
        };
        dots(drow, w, &s.idx[..active], out);
    }
}

/// out[i] = d . w[i] (rows of length d.len()) for each i in `rows`, four at a time.
fn dots(d: &[f32], w: &[f32], rows: &[usize], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above)
        return unsafe { dots_fma(d, w, rows, out) };
    }
    dots_body::<false>(d, w, rows, out)
}

/// [`dots`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dots_fma(d: &[f32], w: &[f32], rows: &[usize], out: &mut [f32]) {
    dots_body::<true>(d, w, rows, out)
}

#[inline(always)]
fn dots_body<const FMA: bool>(d: &[f32], w: &[f32], rows: &[usize], out: &mut [f32]) {
    let n = d.len();
    let mut groups = rows.chunks_exact(4);
    for g in &mut groups {
        let four = dot4::<FMA>(d, w, n, [g[0], g[1], g[2], g[3]]);
        for (&i, v) in g.iter().zip(four) {
            out[i] = v;
        }
    }
    for &i in groups.remainder() {
        out[i] = d
            .iter()
            .zip(&w[i * n..(i + 1) * n])
            .map(|(a, b)| a * b)
            .sum();
    }
}

/// out[j] += sum over t of vals[t] * b[idx[t] * stride + j], for j < out.len(): blocks of
/// columns held in registers across the sum, the rest plainly.
#[inline(never)]
fn axpy_sum(vals: &[f32], idx: &[usize], b: &[f32], stride: usize, out: &mut [f32]) {
    // the wasm kernel checks only the last index against b: every caller passes them ascending
    assert!(idx.windows(2).all(|p| p[0] < p[1]), "indices ascend");
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above)
        return unsafe { axpy_sum_fma(vals, idx, b, stride, out) };
    }
    axpy_body::<32, false>(vals, idx, b, stride, out)
}

/// Natively on x86-64, the CPU's AVX2 and FMA when it has them (checked once, then cached by
/// std): eight-lane fused multiply-adds. The wasm engine and other CPUs use the plain kernels.
#[cfg(target_arch = "x86_64")]
fn has_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// [`axpy_sum`] compiled for AVX2 and FMA, in blocks of 64 columns (eight 8-lane accumulators,
/// enough to hide the FMA's latency).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn axpy_sum_fma(vals: &[f32], idx: &[usize], b: &[f32], stride: usize, out: &mut [f32]) {
    axpy_body::<64, true>(vals, idx, b, stride, out)
}

#[inline(always)]
fn axpy_body<const WIDE: usize, const FMA: bool>(
    vals: &[f32],
    idx: &[usize],
    b: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let w = out.len();
    let mut j = 0;
    while j + WIDE <= w {
        block::<WIDE, FMA>(vals, idx, b, stride, j, &mut out[j..j + WIDE]);
        j += WIDE;
    }
    while j + 8 <= w {
        narrow::<8, FMA>(vals, idx, b, stride, j, &mut out[j..j + 8]);
        j += 8;
    }
    if j + 4 <= w {
        narrow::<4, FMA>(vals, idx, b, stride, j, &mut out[j..j + 4]);
        j += 4;
    }
    if j < w {
        for (&v, &i) in vals.iter().zip(idx) {
            for (o, x) in out[j..].iter_mut().zip(&b[i * stride + j..i * stride + w]) {
                *o += v * x;
            }
        }
    }
}

/// W (8 or 4) columns of [`axpy_sum`], what is left of a row after the wide blocks (a layer of
/// 60 or 20 units): the terms go to four interleaved sums, so that four multiply-add chains are in
/// flight rather than one, each waiting on the last.
#[inline(always)]
fn narrow<const W: usize, const FMA: bool>(
    vals: &[f32],
    idx: &[usize],
    b: &[f32],
    stride: usize,
    col: usize,
    out: &mut [f32],
) {
    let mut acc = [[0.0f32; W]; 4];
    acc[0].copy_from_slice(out);
    let add = |acc: &mut [f32; W], v: f32, i: usize| {
        let row: &[f32; W] = b[i * stride + col..i * stride + col + W]
            .try_into()
            .expect("W values");
        for c in 0..W {
            acc[c] = if FMA {
                v.mul_add(row[c], acc[c])
            } else {
                acc[c] + v * row[c]
            };
        }
    };
    let (v4, i4) = (vals.chunks_exact(4), idx.chunks_exact(4));
    let (v_rest, i_rest) = (v4.remainder(), i4.remainder());
    for (v, i) in v4.zip(i4) {
        for u in 0..4 {
            add(&mut acc[u], v[u], i[u]);
        }
    }
    for (&v, &i) in v_rest.iter().zip(i_rest) {
        add(&mut acc[0], v, i);
    }
    for (c, o) in out.iter_mut().enumerate() {
        *o = (acc[0][c] + acc[1][c]) + (acc[2][c] + acc[3][c]);
    }
}

/// W columns of [`axpy_sum`]: plain loops over fixed sizes, which the compiler vectorises
/// (with fused multiply-adds if FMA).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn block<const W: usize, const FMA: bool>(
    vals: &[f32],
    idx: &[usize],
    b: &[f32],
    stride: usize,
    col: usize,
    out: &mut [f32],
) {
    let mut acc: [f32; W] = out.try_into().expect("W outputs");
    for (&v, &i) in vals.iter().zip(idx) {
        let row: &[f32; W] = b[i * stride + col..i * stride + col + W]
            .try_into()
            .expect("W values");
        for c in 0..W {
            acc[c] = if FMA {
                v.mul_add(row[c], acc[c])
            } else {
                acc[c] + v * row[c]
            };
        }
    }
    out.copy_from_slice(&acc);
}

/// The same in wasm SIMD: W / 4 four-lane accumulators in registers, one broadcast and W / 4
/// loads per term. Written out because the compiler kept the accumulators in memory.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn block<const W: usize, const _FMA: bool>(
    vals: &[f32],
    idx: &[usize],
    b: &[f32],
    stride: usize,
    col: usize,
    out: &mut [f32],
) {
    use core::arch::wasm32::*;
    const { assert!(W <= 32 && W.is_multiple_of(4), "eight 4-lane accumulators") };
    // the loads below stay inside b: `idx` ascends (axpy_sum checks), so its last is the largest
    assert!(out.len() == W && idx.len() == vals.len());
    assert!(idx.last().is_none_or(|&i| i * stride + col + W <= b.len()));
    // SAFETY: in bounds by the asserts above; wasm loads and stores need no alignment.
    unsafe {
        let mut acc = [f32x4_splat(0.0); 8];
        for (q, a) in acc.iter_mut().enumerate().take(W / 4) {
            *a = v128_load(out.as_ptr().add(4 * q) as *const v128);
        }
        for (&v, &i) in vals.iter().zip(idx) {
            let x = f32x4_splat(v);
            let p = b.as_ptr().add(i * stride + col);
            for (q, a) in acc.iter_mut().enumerate().take(W / 4) {
                *a = f32x4_add(*a, f32x4_mul(x, v128_load(p.add(4 * q) as *const v128)));
            }
        }
        for (q, a) in acc.iter().enumerate().take(W / 4) {
            v128_store(out.as_mut_ptr().add(4 * q) as *mut v128, *a);
        }
    }
}

/// Four dot products of `a` with rows `rows` of w (row length `stride` = a.len()).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn dot4<const FMA: bool>(a: &[f32], w: &[f32], stride: usize, rows: [usize; 4]) -> [f32; 4] {
    // 16 lanes per row: with AVX2 two 8-lane chains each, eight in all, which hides the FMA's
    // latency
    const L: usize = 16;
    let n = a.len();
    let r: [&[f32]; 4] = rows.map(|i| &w[i * stride..i * stride + n]);
    let mut acc = [[0.0f32; L]; 4];
    let full = n - n % L;
    for o in (0..full).step_by(L) {
        let x: &[f32; L] = a[o..o + L].try_into().expect("L values");
        for (u, acc) in acc.iter_mut().enumerate() {
            let y: &[f32; L] = r[u][o..o + L].try_into().expect("L values");
            for l in 0..L {
                acc[l] = if FMA {
                    x[l].mul_add(y[l], acc[l])
                } else {
                    acc[l] + x[l] * y[l]
                };
            }
        }
    }
    let mut out = acc.map(|v| v.iter().sum::<f32>());
    for (u, out) in out.iter_mut().enumerate() {
        for o in full..n {
            *out += a[o] * r[u][o];
        }
    }
    out
}

/// The same in wasm SIMD: four accumulators, one load of `a` and four of w per four terms.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dot4<const _FMA: bool>(a: &[f32], w: &[f32], stride: usize, rows: [usize; 4]) -> [f32; 4] {
    use core::arch::wasm32::*;
    let n = a.len();
    assert!(rows.iter().all(|&i| i * stride + n <= w.len()));
    let full = n - n % 4;
    let mut out = [0.0f32; 4];
    // SAFETY: in bounds by the assert above; wasm loads need no alignment.
    unsafe {
        let p = rows.map(|i| w.as_ptr().add(i * stride));
        let mut acc = [f32x4_splat(0.0); 4];
        for o in (0..full).step_by(4) {
            let x = v128_load(a.as_ptr().add(o) as *const v128);
            for (u, acc) in acc.iter_mut().enumerate() {
                *acc = f32x4_add(*acc, f32x4_mul(x, v128_load(p[u].add(o) as *const v128)));
            }
        }
        for (u, acc) in acc.iter().enumerate() {
            out[u] = f32x4_extract_lane::<0>(*acc)
                + f32x4_extract_lane::<1>(*acc)
                + f32x4_extract_lane::<2>(*acc)
                + f32x4_extract_lane::<3>(*acc);
            for (o, &av) in a.iter().enumerate().skip(full) {
                out[u] += av * *p[u].add(o);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Elbo;
    use crate::model::DecoderOutput;
    use crate::optim::Adam;
    use crate::rng::Rng;
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

    fn close(a: &[f32], b: &[f32], rel: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= rel * scale,
                "{what}[{i}]: {x} against burn's {y} (scale {scale})"
            );
        }
    }

    /// burn's gradients of rec + w * KL for the same parameters, batch and noise.
    fn burn_grads(
        arch: &ArchSpec,
        flat: &[f32],
        x: &[f32],
        eps: &[f32],
        n: usize,
        w: f32,
    ) -> Vec<f32> {
        let device = crate::cpu_device().autodiff();
        let model = arch.from_flat(flat, &device).unwrap();
        let xt = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [n, PIXELS]), &device);
        let et = Tensor::<2>::from_data(TensorData::new(eps.to_vec(), [n, arch.latent]), &device);
        let elbo = Elbo::compute(&model, xt, et);
        let grads = (elbo.rec + elbo.kl * w).backward();
        crate::read_f32(model.flat_grads(&grads)).unwrap()
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
            let device = crate::cpu_device();
            let flat = crate::read_f32(arch.init(&device, 5).flat_params()).unwrap();
            let mut rng = Rng::new(11);
            let x = digits(&mut rng, n);
            let eps = rng.normals(n * arch.latent);
            let mut step = DenseStep::new(&arch, flat.clone()).unwrap();
            let loss = step.gradients(&x, &eps, n, w);
            let theirs = burn_grads(&arch, &flat, &x, &eps, n, w);
            close(step.grads(), &theirs, 1e-4, &arch.label());
            // and the losses themselves
            let dev = crate::cpu_device();
            let model = arch.from_flat(&flat, &dev).unwrap();
            let elbo = Elbo::compute(
                &model,
                Tensor::from_data(TensorData::new(x.clone(), [n, PIXELS]), &dev),
                Tensor::from_data(TensorData::new(eps.clone(), [n, arch.latent]), &dev),
            );
            let nelbo = crate::read_f32(elbo.nelbo).unwrap()[0];
            let kl = crate::read_f32(elbo.kl).unwrap()[0];
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
        let device = crate::cpu_device().autodiff();
        let mut model = arch.init(&device, 2);
        let flat = crate::read_f32(model.valid().flat_params()).unwrap();
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
        let theirs = crate::read_f32(model.valid().flat_params()).unwrap();
        close(step.params(), &theirs, 1e-4, "params after 20 steps");
        let state = crate::read_f32(adam.state_tensor().unwrap()).unwrap();
        let ours = step.adam_state();
        let p = theirs.len();
        close(&ours[..p], &state[..p], 1e-3, "first moments");
        close(&ours[p..], &state[p..], 1e-3, "second moments");
        assert_eq!(step.time(), 20);
    }

    /// The products against a plain triple loop, on sizes that leave remainders everywhere and
    /// operands with zeros in them.
    #[test]
    fn products_match_a_triple_loop() {
        let mut rng = Rng::new(1);
        let mut scratch = Scratch::default();
        for (m, k, n) in [
            (7, 13, 19),
            (8, 16, 24),
            (4, 5, 8),
            (1, 3, 9),
            (64, 784, 12),
            (5, 9, 77),
        ] {
            let mut rand = |len: usize| -> Vec<f32> {
                (0..len)
                    .map(|_| {
                        let u = rng.uniform() as f32;
                        if u < 0.4 {
                            0.0
                        } else {
                            u - 0.7
                        }
                    })
                    .collect()
            };
            let (a, b, bias) = (rand(m * k), rand(k * n), rand(n));
            let mut c = vec![f32::NAN; m * n];
            gemm_nn(&a, m, k, &b, n, Some(&bias), &mut c, &mut scratch);
            let mut want = vec![0.0f32; m * n];
            for r in 0..m {
                for j in 0..n {
                    want[r * n + j] =
                        bias[j] + (0..k).map(|t| a[r * k + t] * b[t * n + j]).sum::<f32>();
                }
            }
            close(&c, &want, 1e-5, "a b + bias");
            // a^T b2 for b2 [m, n]
            let b2 = rand(m * n);
            let mut c2 = vec![f32::NAN; k * n];
            gemm_tn(&a, m, k, &b2, n, &mut c2, &mut scratch);
            let mut want2 = vec![0.0f32; k * n];
            for i in 0..k {
                for j in 0..n {
                    want2[i * n + j] = (0..m).map(|r| a[r * k + i] * b2[r * n + j]).sum::<f32>();
                }
            }
            close(&c2, &want2, 1e-5, "a^T b");
            // b2 w^T for w = b [k, n], kept where `a` is not zero
            let mut c3 = vec![f32::NAN; m * k];
            gemm_nt_masked(&b2, m, n, &b, k, Some(&a), &mut c3, &mut scratch);
            let mut want3 = vec![0.0f32; m * k];
            for r in 0..m {
                for i in 0..k {
                    if a[r * k + i] != 0.0 {
                        want3[r * k + i] =
                            (0..n).map(|j| b2[r * n + j] * b[i * n + j]).sum::<f32>();
                    }
                }
            }
            close(&c3, &want3, 1e-5, "b2 w^T, masked");
        }
    }

    /// Both kernels of each product (plain and, natively, fused multiply-add) against plain sums,
    /// whichever one this CPU dispatches to.
    #[test]
    fn plain_and_fused_kernels_agree() {
        let mut rng = Rng::new(9);
        let (k, n) = (37, 93);
        let b: Vec<f32> = (0..k * n).map(|_| rng.uniform() as f32 - 0.5).collect();
        let vals: Vec<f32> = (0..5).map(|_| rng.uniform() as f32).collect();
        let idx = [1, 4, 9, 20, 36];
        let want: Vec<f32> = (0..n)
            .map(|j| vals.iter().zip(idx).map(|(v, i)| v * b[i * n + j]).sum())
            .collect();
        let d: Vec<f32> = (0..n).map(|_| rng.uniform() as f32).collect();
        let rows = [0, 3, 5, 8, 13, 36];
        let want_dots: Vec<f32> = (0..k)
            .map(|i| {
                if rows.contains(&i) {
                    d.iter().zip(&b[i * n..]).map(|(x, y)| x * y).sum()
                } else {
                    0.0
                }
            })
            .collect();
        let check = |out: &[f32], dots: &[f32], what: &str| {
            close(out, &want, 1e-5, what);
            close(dots, &want_dots, 1e-5, what);
        };
        let (mut out, mut dots) = (vec![0.0; n], vec![0.0; k]);
        axpy_body::<32, false>(&vals, &idx, &b, n, &mut out);
        dots_body::<false>(&d, &b, &rows, &mut dots);
        check(&out, &dots, "plain");
        #[cfg(target_arch = "x86_64")]
        if has_fma() {
            let (mut out, mut dots) = (vec![0.0; n], vec![0.0; k]);
            // SAFETY: the CPU has AVX2 and FMA
            unsafe {
                axpy_sum_fma(&vals, &idx, &b, n, &mut out);
                dots_fma(&d, &b, &rows, &mut dots);
            }
            check(&out, &dots, "fused");
        }
    }

    #[test]
    fn adam_state_round_trips_and_refuses_bad_state() {
        let arch = ArchSpec::new(vec![8]).with_latent(2);
        let flat = crate::read_f32(arch.init(&crate::cpu_device(), 1).flat_params()).unwrap();
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
