//! Inference without burn: the VAE's forward pass in plain Rust over the same flat parameters.
//!
//! Why: the page's interactive paths (reconstruct a drawn digit, 60 chains of 100 steps) run tiny
//! layers, 60 images of 784 pixels through 64 units and back. There, burn's per-operation cost
//! (allocating and dispatching each of ~10 tensor ops, copying data in and out) was most of the
//! time. Here every layer is the training step's product ([`crate::dense_step`]): each row sums
//! only the weight rows of its nonzero inputs (a digit's background and the ReLU's dead units
//! cost nothing), 32 columns at a time in SIMD registers. A test checks every result against
//! burn's forward pass ([`crate::Vae`]).
//!
//! Random draws follow [`crate::analysis`] exactly (same [`Rng`] calls, same order), so for a
//! seed both paths give the same samples and chains up to float rounding.

use crate::config::{ArchSpec, PIXELS};
use crate::error::VaeError;
use crate::kernels::{self, sigmoid_in_place};
use crate::layout::Layout;
use crate::rng::Rng;

/// One fully connected layer: `w` is [d_in, d_out] row-major, like burn's `Linear`.
#[derive(Clone, Debug)]
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    d_in: usize,
    d_out: usize,
}

impl Dense {
    /// x [n, d_in] -> x W + b [n, d_out], with ReLU if `relu`: the training step's product
    /// ([`crate::dense_step`]), which skips each row's zeros (a digit's background, dead units).
    fn forward(&self, x: &[f32], n: usize, relu: bool) -> Vec<f32> {
        debug_assert_eq!(x.len(), n * self.d_in);
        let mut out = vec![0.0f32; n * self.d_out];
        kernels::affine(x, n, self.d_in, &self.w, self.d_out, &self.b, &mut out);
        if relu {
            kernels::relu_in_place(&mut out);
        }
        out
    }
}

/// A VAE ready for inference on the host: the layers of a [`Vae`] as plain arrays.
#[derive(Clone, Debug)]
pub struct DenseVae {
    arch: ArchSpec,
    encoder: Vec<Dense>,
    decoder: Vec<Dense>,
    latent: usize,
    sigma: f32,
    sigmoid_output: bool,
}

impl DenseVae {
    /// From a flat parameter vector laid out as [`ArchSpec::param_shapes`].
    pub fn new(arch: &ArchSpec, flat: &[f32]) -> Result<Self, VaeError> {
        arch.check_flat(flat)?;
        let layout = Layout::new(arch);
        let mut layers: Vec<Dense> = layout
            .layers
            .iter()
            .map(|l| Dense {
                w: flat[l.w..l.b].to_vec(),
                b: flat[l.b..l.b + l.d_out].to_vec(),
                d_in: l.d_in,
                d_out: l.d_out,
            })
            .collect();
        let decoder = layers.split_off(layout.n_enc);
        Ok(Self {
            arch: arch.clone(),
            encoder: layers,
            decoder,
            latent: arch.latent,
            sigma: flat[layout.log_sigma].exp(),
            sigmoid_output: arch.output.is_sigmoid(),
        })
    }

    pub fn latent(&self) -> usize {
        self.latent
    }

    pub fn arch(&self) -> &ArchSpec {
        &self.arch
    }

    /// x [n * 784] -> (mu, logvar), each [n * L].
    pub fn encode(&self, x: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
        let out = run(&self.encoder, x.to_vec(), n);
        let l = self.latent;
        let (mut mu, mut logvar) = (Vec::with_capacity(n * l), Vec::with_capacity(n * l));
        for row in out.chunks_exact(2 * l) {
            mu.extend_from_slice(&row[..l]);
            logvar.extend_from_slice(&row[l..]);
        }
        (mu, logvar)
    }

    /// z [n * L] -> decoder means [n * 784] (in (0, 1) with the sigmoid output).
    pub fn decode(&self, z: &[f32], n: usize) -> Vec<f32> {
        let mut out = run(&self.decoder, z.to_vec(), n);
        if self.sigmoid_output {
            sigmoid_in_place(&mut out);
        }
        out
    }

    /// z = mu + exp(logvar / 2) eps, eps from `rng` ([`crate::rng::noise`]'s draws).
    fn draw_z(&self, mu: Vec<f32>, logvar: &[f32], rng: &mut Rng) -> Vec<f32> {
        let eps = rng.normals(mu.len());
        mu.iter()
            .zip(logvar)
            .zip(eps)
            .map(|((m, lv), e)| m + (lv * 0.5).exp() * e)
            .collect()
    }

    /// [`crate::analysis::reconstruct`]: decoder mean of the encoder mean, or of a sampled z.
    pub fn reconstruct(&self, x: &[f32], n: usize, rng: Option<&mut Rng>) -> Vec<f32> {
        let (mu, logvar) = self.encode(x, n);
        let z = match rng {
            Some(rng) => self.draw_z(mu, &logvar, rng),
            None => mu,
        };
        self.decode(&z, n)
    }

    /// [`crate::analysis::sample`]: n decoder means from z ~ N(0, I).
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f32> {
        self.decode(&rng.normals(n * self.latent), n)
    }

    /// [`crate::analysis::FixedPointChain`]: frames 0..=steps of n chains, frame-major
    /// [(steps + 1) * n * 784], from z ~ N(0, I) or from `start` [n * 784].
    pub fn chain(
        &self,
        n: usize,
        steps: usize,
        start: Option<Vec<f32>>,
        rng: &mut Rng,
    ) -> Vec<f32> {
        let mut frames = Vec::with_capacity((steps + 1) * n * PIXELS);
        let mut frame = match start {
            Some(x) => x,
            None => self.sample(n, rng),
        };
        let mut x = vec![0.0f32; n * PIXELS];
        for _ in 0..steps {
            frames.extend_from_slice(&frame);
            rng.fill_normals(&mut x);
            for (xi, fi) in x.iter_mut().zip(&frame) {
                *xi = fi + *xi * self.sigma;
            }
            let (mu, logvar) = self.encode(&x, n);
            let z = self.draw_z(mu, &logvar, rng);
            frame = self.decode(&z, n);
        }
        frames.extend_from_slice(&frame);
        frames
    }
}

impl DenseVae {
    /// log p(x) of each image, in nats, estimated by importance sampling with `k` draws from
    /// q(z|x) (the IWAE bound of Burda et al., 2016):
    ///
    ///   log p(x) ≈ log (1/k) Σ_j p(x|z_j) p(z_j) / q(z_j|x),   z_j = mu + sigma ⊙ eps_j.
    ///
    /// With k = 1 it is the one-sample ELBO with a sampled KL; its expectation grows with k towards
    /// log p(x). Draws come k rounds of n images at a time (memory O(n)), the log-sum-exp kept
    /// running in f64.
    pub fn log_likelihood(&self, x: &[f32], n: usize, k: usize, rng: &mut Rng) -> Vec<f64> {
        assert!(k >= 1, "at least one importance sample");
        let l = self.latent;
        let (mu, logvar) = self.encode(x, n);
        let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let log_sigma = (self.sigma as f64).ln();
        let inv_two_var = 1.0 / (2.0 * self.sigma as f64 * self.sigma as f64);
        // running log-sum-exp per image: max and sum of exp(w - max)
        let mut max = vec![f64::NEG_INFINITY; n];
        let mut sum = vec![0.0f64; n];
        let mut eps = vec![0.0f32; n * l];
        for _ in 0..k {
            rng.fill_normals(&mut eps);
            let z: Vec<f32> = (0..n * l)
                .map(|i| mu[i] + (logvar[i] * 0.5).exp() * eps[i])
                .collect();
            let mean = self.decode(&z, n);
            for i in 0..n {
                let sq: f64 = x[i * PIXELS..(i + 1) * PIXELS]
                    .iter()
                    .zip(&mean[i * PIXELS..(i + 1) * PIXELS])
                    .map(|(a, b)| ((a - b) as f64).powi(2))
                    .sum();
                let log_px_z = -(sq * inv_two_var + (log_sigma + half_ln_2pi) * PIXELS as f64);
                // log p(z) - log q(z|x): the 2π terms cancel
                let log_ratio: f64 = (i * l..(i + 1) * l)
                    .map(|j| {
                        let (zj, ej) = (z[j] as f64, eps[j] as f64);
                        -0.5 * zj * zj + 0.5 * ej * ej + 0.5 * logvar[j] as f64
                    })
                    .sum();
                let w = log_px_z + log_ratio;
                if w > max[i] {
                    sum[i] = sum[i] * (max[i] - w).exp() + 1.0;
                    max[i] = w;
                } else {
                    sum[i] += (w - max[i]).exp();
                }
            }
        }
        let ln_k = (k as f64).ln();
        max.iter()
            .zip(&sum)
            .map(|(m, s)| m + s.ln() - ln_k)
            .collect()
    }
}

/// One image's path through the model, every intermediate value kept (the page's Inside
/// panel): each layer's activations, the code, the noise, the reconstruction and the two terms
/// of the loss, which sum to the one-sample nELBO of this image.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Inside {
    /// Encoder hidden layers after ReLU, input side first.
    pub encoder: Vec<Vec<f32>>,
    pub mu: Vec<f32>,
    pub logvar: Vec<f32>,
    /// The standard normal noise of the reparameterisation.
    pub eps: Vec<f32>,
    /// z = mu + exp(logvar / 2) * eps.
    pub z: Vec<f32>,
    /// Decoder hidden layers after ReLU, latent side first.
    pub decoder: Vec<Vec<f32>>,
    /// The decoder mean x̂ [784].
    pub mean: Vec<f32>,
    pub sigma: f32,
    /// -log p(x|z) for this z, nats.
    pub rec: f64,
    /// KL(q(z_i|x) || N(0, 1)) per latent, nats (closed form).
    pub kl_per_latent: Vec<f64>,
    pub kl: f64,
    /// rec + kl.
    pub nelbo: f64,
}

impl DenseVae {
    /// The path of one image x [784] with the reparameterisation noise `eps` [L].
    pub fn inside(&self, x: &[f32], eps: &[f32]) -> Inside {
        assert_eq!(x.len(), PIXELS);
        assert_eq!(eps.len(), self.latent);
        let trace = |layers: &[Dense], input: Vec<f32>| {
            let mut h = input;
            let mut hidden = Vec::new();
            for (i, layer) in layers.iter().enumerate() {
                h = layer.forward(&h, 1, i + 1 < layers.len());
                if i + 1 < layers.len() {
                    hidden.push(h.clone());
                }
            }
            (hidden, h)
        };
        let (encoder, head) = trace(&self.encoder, x.to_vec());
        let l = self.latent;
        let (mu, logvar) = (head[..l].to_vec(), head[l..].to_vec());
        let z: Vec<f32> = (0..l)
            .map(|i| mu[i] + (logvar[i] * 0.5).exp() * eps[i])
            .collect();
        let (decoder, mut mean) = trace(&self.decoder, z.clone());
        if self.sigmoid_output {
            sigmoid_in_place(&mut mean);
        }
        let sigma = self.sigma as f64;
        let sq: f64 = x
            .iter()
            .zip(&mean)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum();
        let rec = sq / (2.0 * sigma * sigma)
            + (sigma.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln()) * PIXELS as f64;
        let kl_per_latent: Vec<f64> = (0..l)
            .map(|i| {
                let (m, lv) = (mu[i] as f64, logvar[i] as f64);
                0.5 * (m * m + lv.exp() - 1.0 - lv)
            })
            .collect();
        let kl = kl_per_latent.iter().sum();
        Inside {
            encoder,
            mu,
            logvar,
            eps: eps.to_vec(),
            z,
            decoder,
            mean,
            sigma: self.sigma,
            rec,
            kl_per_latent,
            kl,
            nelbo: rec + kl,
        }
    }
}

/// Through `layers`: ReLU after each but the last.
fn run(layers: &[Dense], mut h: Vec<f32>, n: usize) -> Vec<f32> {
    for (i, layer) in layers.iter().enumerate() {
        h = layer.forward(&h, n, i + 1 < layers.len());
    }
    h
}

#[cfg(all(test, feature = "engine"))]
mod tests {
    use super::*;
    use crate::analysis;
    use burn::prelude::*;

    fn digits(n: usize, seed: u64) -> Vec<f32> {
        // digit-like: mostly zero background, some ink
        let mut rng = Rng::new(seed);
        (0..n * PIXELS)
            .map(|_| {
                let u = rng.uniform() as f32;
                if u < 0.8 {
                    0.0
                } else {
                    u
                }
            })
            .collect()
    }

    fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= tol, "{what}: largest difference {worst} > {tol}");
    }

    /// Every architecture shape (no hidden layer, widths not a multiple of the blocks, batches
    /// that leave a remainder row) against burn's forward pass on the same weights.
    #[test]
    fn matches_burn_forward_pass_encode_decode_reconstruct_sample_chain() {
        let device = crate::device::cpu_device();
        for (hidden, latent, n) in [
            (vec![], 12, 5),
            (vec![64], 12, 60),
            (vec![60, 32, 20], 12, 7),
            (vec![37], 3, 1),
        ] {
            let arch = ArchSpec::new(hidden.clone()).with_latent(latent);
            let model = arch.init(&device, 5);
            let fast = DenseVae::from_model(&model).unwrap();
            let x = digits(n, 9);
            let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [n, PIXELS]), &device);
            let what = |s: &str| format!("{hidden:?} z={latent} n={n}: {s}");

            let (mu, logvar) = model.encode(xt.clone());
            let (fmu, flv) = fast.encode(&x, n);
            close(
                &fmu,
                &crate::device::read_f32(mu.clone()).unwrap(),
                1e-5,
                &what("mu"),
            );
            close(
                &flv,
                &crate::device::read_f32(logvar).unwrap(),
                1e-5,
                &what("logvar"),
            );

            let burn_recon = analysis::reconstruct(&model, xt.clone(), None);
            close(
                &fast.reconstruct(&x, n, None),
                &crate::device::read_f32(burn_recon).unwrap(),
                1e-5,
                &what("reconstruct"),
            );
            let burn_sampled = analysis::reconstruct(&model, xt, Some(&mut Rng::new(3)));
            close(
                &fast.reconstruct(&x, n, Some(&mut Rng::new(3))),
                &crate::device::read_f32(burn_sampled).unwrap(),
                1e-5,
                &what("reconstruct, sampled z"),
            );
            let burn_samples = analysis::sample(&model, n, &mut Rng::new(4));
            close(
                &fast.sample(n, &mut Rng::new(4)),
                &crate::device::read_f32(burn_samples).unwrap(),
                1e-5,
                &what("sample"),
            );
            let frames =
                analysis::FixedPointChain { steps: 6 }.run(&model, n, None, &mut Rng::new(8));
            let burn_chain = crate::device::read_f32(Tensor::cat(frames, 0)).unwrap();
            // chains feed outputs back in 6 times; rounding differences grow a little
            close(
                &fast.chain(n, 6, None, &mut Rng::new(8)),
                &burn_chain,
                1e-4,
                &what("chain"),
            );
        }
    }

    #[test]
    fn refuses_a_parameter_vector_of_the_wrong_length() {
        let arch = ArchSpec::new(vec![64]);
        assert!(DenseVae::new(&arch, &vec![0.0; arch.param_count() - 1]).is_err());
    }

    fn shipped_c() -> (crate::weights::WeightsFile, DenseVae) {
        let file = crate::weights::WeightsFile::read(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/weights/C.bin"
        )))
        .unwrap();
        let fast = DenseVae::new(&file.arch, &file.params).unwrap();
        (file, fast)
    }

    /// K = 1 is the one-sample ELBO with the same noise: log p(x|z) + log p(z) - log q(z|x),
    /// computed here through burn's model and loss (another implementation of every term).
    #[test]
    fn one_importance_sample_is_the_elbo_with_the_same_noise() {
        let (file, fast) = shipped_c();
        let device = crate::device::cpu_device();
        let model = file.to_model(&device).unwrap();
        let n = 5;
        let x = digits(n, 21);
        let iw = fast.log_likelihood(&x, n, 1, &mut Rng::new(9));
        let mut eps = vec![0.0f32; n * 12];
        Rng::new(9).fill_normals(&mut eps);
        let xt = Tensor::<2>::from_data(TensorData::new(x, [n, PIXELS]), &device);
        let et = Tensor::<2>::from_data(TensorData::new(eps.clone(), [n, 12]), &device);
        let (mu, logvar) = model.encode(xt.clone());
        let z = mu.clone() + (logvar.clone() * 0.5).exp() * et;
        let nll = crate::device::read_f32(
            crate::loss::gaussian_nll(xt, model.decode(z.clone()), model.log_sigma()).reshape([n]),
        )
        .unwrap();
        let (z, logvar) = (
            crate::device::read_f32(z).unwrap(),
            crate::device::read_f32(logvar).unwrap(),
        );
        for i in 0..n {
            let (mut log_pz, mut log_q) = (0.0f64, 0.0f64);
            for j in i * 12..(i + 1) * 12 {
                let ln_2pi = (2.0 * std::f64::consts::PI).ln();
                log_pz += -0.5 * (z[j] as f64).powi(2) - 0.5 * ln_2pi;
                log_q += -0.5 * (eps[j] as f64).powi(2) - 0.5 * logvar[j] as f64 - 0.5 * ln_2pi;
            }
            let elbo = -(nll[i] as f64) + log_pz - log_q;
            assert!(
                (iw[i] - elbo).abs() < 1e-3 * elbo.abs().max(1.0),
                "image {i}: IWAE(1) {} vs ELBO {elbo}",
                iw[i]
            );
        }
    }

    /// Averaged over many digits the bound tightens as K grows, stays finite, and K = 1 agrees
    /// with burn's nELBO (analytic KL) up to the noise of one sample.
    #[test]
    fn more_importance_samples_never_loosen_the_bound_on_average() {
        let (file, fast) = shipped_c();
        let n = 200;
        let x = digits(n, 5);
        let mean = |k: usize| {
            let v = fast.log_likelihood(&x, n, k, &mut Rng::new(100 + k as u64));
            assert!(v.iter().all(|x| x.is_finite()), "K = {k}: not finite");
            v.iter().sum::<f64>() / n as f64
        };
        let (m1, m10, m100) = (mean(1), mean(10), mean(100));
        assert!(
            m10 >= m1 && m100 >= m10,
            "IWAE means K=1 {m1}, 10 {m10}, 100 {m100}"
        );
        let device = crate::device::cpu_device();
        let model = file.to_model(&device).unwrap();
        let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [n, PIXELS]), &device);
        let eps = Tensor::<2>::from_data(
            TensorData::new(Rng::new(3).normals(n * 12), [n, 12]),
            &device,
        );
        let nelbo =
            crate::device::read_f32(crate::loss::Elbo::compute(&model, xt, eps).nelbo).unwrap()[0];
        assert!(
            (m1 + nelbo as f64).abs() < 0.02 * (nelbo as f64).abs() + 5.0,
            "IWAE(1) mean {m1} vs -nELBO {}",
            -nelbo
        );
    }

    /// The Inside trace is the model's own computation: its reconstruction and its loss terms are
    /// burn's for the same image and noise, and its shapes follow the architecture.
    #[test]
    fn inside_matches_the_forward_pass_and_the_loss() {
        let (file, fast) = shipped_c();
        let device = crate::device::cpu_device();
        let model = file.to_model(&device).unwrap();
        let x = digits(1, 31);
        let eps = Rng::new(6).normals(12);
        let t = fast.inside(&x, &eps);
        assert_eq!(t.encoder.len(), 1);
        assert_eq!(t.encoder[0].len(), 64);
        assert_eq!(t.decoder.len(), 1);
        assert_eq!(t.decoder[0].len(), 64);
        assert!(t.encoder[0].iter().all(|v| *v >= 0.0), "ReLU");
        let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [1, PIXELS]), &device);
        let et = Tensor::<2>::from_data(TensorData::new(eps.clone(), [1, 12]), &device);
        let elbo = crate::loss::Elbo::compute(&model, xt.clone(), et.clone());
        let rec = crate::device::read_f32(elbo.rec).unwrap()[0] as f64;
        let kl = crate::device::read_f32(elbo.kl).unwrap()[0] as f64;
        assert!(
            (t.rec - rec).abs() < 1e-3 * rec.abs().max(1.0),
            "rec {} vs {rec}",
            t.rec
        );
        assert!((t.kl - kl).abs() < 1e-3, "kl {} vs {kl}", t.kl);
        assert!((t.nelbo - t.rec - t.kl).abs() < 1e-9);
        let (mu, logvar) = model.encode(xt);
        let z = mu + (logvar * 0.5).exp() * et;
        let mean = crate::device::read_f32(model.decode(z)).unwrap();
        close(&t.mean, &mean, 1e-5, "inside mean");
    }
}
