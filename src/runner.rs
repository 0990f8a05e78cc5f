//! Inference on the engine the device calls for: the [`Runner`] answers encode, decode,
//! reconstruct, sample, the fixed-point chains, posterior collapse, the latent map and the held-out
//! evaluation, on the host in plain Rust ([`DenseVae`]) for the CPU, or with burn's model on any
//! other device (WebGPU). Which one is decided once, by [`crate::device::is_host`], the same rule
//! the trainer's engine follows; callers (the wasm layer, tests) never ask.
//!
//! Every method is async because burn's readback is on WebGPU; natively, block on it
//! ([`crate::device::block_on`]). Random draws follow [`crate::analysis`] exactly on both paths,
//! so a seed gives the same pictures up to float rounding.

use std::borrow::Cow;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analysis::{self, CollapseStats, CollapseSums, FixedPointChain};
use crate::config::{ArchSpec, Metrics, PIXELS};
use crate::data::{check_pixels, Digits};
use crate::dense_step::held_out_sums;
use crate::device::{is_host, read_f32_async};
use crate::error::VaeError;
use crate::infer::{DenseVae, Inside};
use crate::limits::{
    check_at_most, check_count, MAX_CHAINS, MAX_CHAIN_FRAMES, MAX_CHAIN_STEPS, MAX_IMAGES_PER_CALL,
    MAX_IMPORTANCE_SAMPLES, MAX_SAMPLES, STATS_CHUNK,
};
use crate::model::Vae;
use crate::rng::Rng;

/// A model ready for inference where its engine runs.
#[allow(clippy::large_enum_variant)] // one per slot, behind an Rc: boxing would buy nothing
pub enum Runner {
    /// The plain-Rust model on the host, with the flat parameters it was built from.
    Host { model: DenseVae, params: Vec<f32> },
    /// burn's model on its device (read back asynchronously).
    Device { model: Vae, device: Device },
}

impl Runner {
    /// The runner of `params` (laid out as [`ArchSpec::param_shapes`]) for `device`'s engine.
    pub fn new(arch: &ArchSpec, params: Vec<f32>, device: &Device) -> Result<Self, VaeError> {
        if is_host(device) {
            Ok(Runner::Host {
                model: DenseVae::new(arch, &params)?,
                params,
            })
        } else {
            Ok(Runner::Device {
                model: arch.from_flat(&params, device)?,
                device: device.clone(),
            })
        }
    }

    /// A runner of burn's `model` where it is (a warm start or a run on the device, no readback).
    pub fn on_device(model: Vae) -> Self {
        let device = model.log_sigma().device();
        Runner::Device { model, device }
    }

    pub fn arch(&self) -> ArchSpec {
        match self {
            Runner::Host { model, .. } => model.arch().clone(),
            Runner::Device { model, .. } => model.arch(),
        }
    }

    /// The flat parameters (read back from the device).
    pub async fn params(&self) -> Result<Vec<f32>, VaeError> {
        match self {
            Runner::Host { params, .. } => Ok(params.clone()),
            Runner::Device { model, .. } => read_f32_async(model.flat_params()).await,
        }
    }

    /// The plain-Rust model: the host's own, or one built from the device's weights (for what
    /// only the host computes: the Inside trace, importance sampling).
    pub async fn host(&self) -> Result<Cow<'_, DenseVae>, VaeError> {
        match self {
            Runner::Host { model, .. } => Ok(Cow::Borrowed(model)),
            Runner::Device { model, .. } => Ok(Cow::Owned(DenseVae::new(
                &model.arch(),
                &read_f32_async(model.flat_params()).await?,
            )?)),
        }
    }

    /// x [n * 784] -> (mu, logvar), each [n * L].
    pub async fn encode(&self, x: Vec<f32>) -> Result<(Vec<f32>, Vec<f32>), VaeError> {
        let n = check_pixels(&x, "encode")?;
        match self {
            Runner::Host { model, .. } => Ok(model.encode(&x, n)),
            Runner::Device { model, device } => {
                let (mu, logvar) = model.encode(images(x, n, device));
                Ok((read_f32_async(mu).await?, read_f32_async(logvar).await?))
            }
        }
    }

    /// z [n * L] -> decoder means [n * 784].
    pub async fn decode(&self, z: Vec<f32>) -> Result<Vec<f32>, VaeError> {
        let l = self.arch().latent;
        let n = z.len() / l;
        if n == 0 || n * l != z.len() || z.iter().any(|v| !v.is_finite()) {
            return Err(VaeError::Invalid(format!(
                "decode: expected n x {l} finite latent values, got {}",
                z.len()
            )));
        }
        check_at_most(n, MAX_IMAGES_PER_CALL, "decode: images")?;
        match self {
            Runner::Host { model, .. } => Ok(model.decode(&z, n)),
            Runner::Device { model, device } => {
                let z = Tensor::from_data(TensorData::new(z, [n, l]), device);
                read_f32_async(model.decode(z)).await
            }
        }
    }

    /// [`analysis::reconstruct`]: the decoder mean of the encoder mean, or of a z drawn by `rng`.
    pub async fn reconstruct(
        &self,
        x: Vec<f32>,
        rng: Option<&mut Rng>,
    ) -> Result<Vec<f32>, VaeError> {
        let n = check_pixels(&x, "reconstruct")?;
        match self {
            Runner::Host { model, .. } => Ok(model.reconstruct(&x, n, rng)),
            Runner::Device { model, device } => {
                let x = images(x, n, device);
                read_f32_async(analysis::reconstruct(model, x, rng)).await
            }
        }
    }

    /// [`analysis::sample`]: n decoder means from z ~ N(0, I).
    pub async fn sample(&self, n: usize, rng: &mut Rng) -> Result<Vec<f32>, VaeError> {
        let n = check_count(n, MAX_SAMPLES, "sample: n")?;
        match self {
            Runner::Host { model, .. } => Ok(model.sample(n, rng)),
            Runner::Device { model, .. } => read_f32_async(analysis::sample(model, n, rng)).await,
        }
    }

    /// [`FixedPointChain`]: frames 0..=steps of n chains, frame-major [(steps + 1) n 784], from
    /// z ~ N(0, I) or from `start` (one digit for every chain, or n); on the device every frame
    /// comes back in one readback.
    pub async fn chain(
        &self,
        n: usize,
        steps: usize,
        start: Option<Vec<f32>>,
        rng: &mut Rng,
    ) -> Result<Vec<f32>, VaeError> {
        let n = check_count(n, MAX_CHAINS, "chain: n")?;
        let steps = check_count(steps, MAX_CHAIN_STEPS, "chain: steps")?;
        // every frame is kept (and on the device read back at once)
        if n * (steps + 1) > MAX_CHAIN_FRAMES {
            return Err(VaeError::Invalid(format!(
                "chain: {n} chains x {steps} steps keeps too many frames (n x (steps+1) at most {MAX_CHAIN_FRAMES})"
            )));
        }
        let start = match start {
            None => None,
            Some(x) => Some(match check_pixels(&x, "chain start")? {
                1 => x.repeat(n),
                k if k == n => x,
                k => {
                    return Err(VaeError::Invalid(format!(
                        "chain start: {k} digits for {n} chains (give 1 or {n})"
                    )))
                }
            }),
        };
        match self {
            Runner::Host { model, .. } => Ok(model.chain(n, steps, start, rng)),
            Runner::Device { model, device } => {
                let start = start.map(|x| images(x, n, device));
                let frames = FixedPointChain { steps }.run(model, n, start, rng);
                read_f32_async(Tensor::cat(frames, 0)).await
            }
        }
    }

    /// One image's path through the model ([`Inside`]), with the noise of `seed`.
    pub async fn inside(&self, x: Vec<f32>, seed: u64) -> Result<Inside, VaeError> {
        if check_pixels(&x, "inside")? != 1 {
            return Err(VaeError::Invalid(
                "inside: one image (784 floats) at a time".into(),
            ));
        }
        let host = self.host().await?;
        let eps = Rng::new(seed).normals(host.latent());
        Ok(host.inside(&x, &eps))
    }

    /// Posterior collapse over `digits`, [`STATS_CHUNK`] images at a time.
    pub async fn collapse(&self, digits: &Digits) -> Result<CollapseStats, VaeError> {
        let mut sums = CollapseSums::default();
        let idx: Vec<usize> = (0..digits.len()).collect();
        for chunk in idx.chunks(STATS_CHUNK) {
            let part = match self {
                Runner::Host { model, .. } => {
                    let (mu, logvar) = model.encode(&digits.floats(chunk), chunk.len());
                    collapse_sums_host(&mu, &logvar, model.latent())
                }
                Runner::Device { model, device } => {
                    let x = digits.batch(chunk, device);
                    read_f32_async(analysis::collapse_chunk(model, x)).await?
                }
            };
            sums.add(chunk.len(), &part);
        }
        Ok(sums.finish())
    }

    /// The plane of the first two principal components of `digits`' latent means: each digit's
    /// coordinates [n 2] and the way back into the latent space ([`analysis::PcaPlane`]).
    pub async fn latent_plane(&self, digits: &Digits) -> Result<analysis::PcaPlane, VaeError> {
        let n = digits.len();
        let idx: Vec<usize> = (0..n).collect();
        let mu = match self {
            Runner::Host { model, .. } => model.encode(&digits.floats(&idx), n).0,
            Runner::Device { model, device } => {
                read_f32_async(model.encode(digits.batch(&idx, device)).0).await?
            }
        };
        Ok(analysis::pca_plane(&mu, n, self.arch().latent))
    }

    /// Held-out numbers on `digits`, one draw per image from `seed` (the trainer's estimate with
    /// [`crate::config::HELD_OUT_SEED`]) and, with `importance_samples`, log p(x) by importance sampling.
    pub async fn evaluate(
        &self,
        digits: &Digits,
        importance_samples: Option<usize>,
        seed: u64,
    ) -> Result<Evaluation, VaeError> {
        let k = importance_samples
            .map(|k| check_count(k, MAX_IMPORTANCE_SAMPLES, "importanceSamples"))
            .transpose()?;
        let sums = match self {
            Runner::Host { params, .. } => held_out_sums(&self.arch(), params, digits, seed)?,
            Runner::Device { model, device } => {
                read_f32_async(analysis::evaluate(model, digits, device, seed)).await?
            }
        };
        let stats = self.collapse(digits).await?;
        let mut evaluation = Evaluation::new(digits.len(), &sums, &stats)?;
        if let Some(k) = k {
            let host = self.host().await?;
            evaluation.log_likelihood = Some(log_likelihood(&host, digits, k, seed)?);
            evaluation.importance_samples = Some(k);
        }
        Ok(evaluation)
    }
}

/// Held-out numbers of a model: the one-sample nELBO estimate and the active units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub n: usize,
    pub nelbo: f64,
    pub rec: f64,
    pub kl: f64,
    pub active_units: usize,
    /// Mean log p(x) by importance sampling ([`log_likelihood`]), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_likelihood: Option<f64>,
    /// The draws per image behind `log_likelihood`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance_samples: Option<usize>,
}

impl Evaluation {
    /// From the read-back sums of [`crate::analysis::evaluate`] and the collapse statistics.
    pub fn new(n: usize, sums: &[f32], collapse: &CollapseStats) -> Result<Self, VaeError> {
        let m = Metrics::from_sums(sums);
        if !m.is_finite() {
            return Err(VaeError::Invalid(format!(
                "the model gives a non-finite nELBO ({}) on these images",
                m.nelbo
            )));
        }
        Ok(Self {
            n,
            nelbo: m.nelbo,
            rec: m.rec,
            kl: m.kl,
            active_units: collapse.active_units,
            log_likelihood: None,
            importance_samples: None,
        })
    }
}

/// Mean log p(x) over `digits`, in nats per image, by importance sampling with `k` draws per
/// image ([`crate::infer::DenseVae::log_likelihood`]; k = 1 is the one-sample ELBO). Images go
/// 250 at a time, so memory stays flat for any k.
pub fn log_likelihood(
    model: &crate::infer::DenseVae,
    digits: &crate::data::Digits,
    k: usize,
    seed: u64,
) -> Result<f64, VaeError> {
    if digits.is_empty() {
        return Err(VaeError::Invalid("no images to evaluate".into()));
    }
    let mut rng = crate::rng::Rng::new(seed);
    let mut total = 0.0f64;
    let indices: Vec<usize> = (0..digits.len()).collect();
    for chunk in indices.chunks(250) {
        let x = digits.floats(chunk);
        total += model
            .log_likelihood(&x, chunk.len(), k, &mut rng)
            .iter()
            .sum::<f64>();
    }
    let mean = total / digits.len() as f64;
    if !mean.is_finite() {
        return Err(VaeError::Invalid(format!(
            "the model gives a non-finite log-likelihood ({mean}) on these images"
        )));
    }
    Ok(mean)
}

/// n images [n * 784] as a tensor [n, 784] on `device`.
fn images(pixels: Vec<f32>, n: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(pixels, [n, PIXELS]), device)
}

/// [`analysis::collapse_chunk`] on the host: [3L] = (Σ KL_i, Σ mu_i, Σ mu_i²) per latent i.
fn collapse_sums_host(mu: &[f32], logvar: &[f32], l: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; 3 * l];
    for (m_row, lv_row) in mu.chunks_exact(l).zip(logvar.chunks_exact(l)) {
        for (i, (&m, &lv)) in m_row.iter().zip(lv_row).enumerate() {
            out[i] += (m * m + lv.exp() - lv - 1.0) * 0.5;
            out[l + i] += m;
            out[2 * l + i] += m * m;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{block_on, cpu_device};
    use crate::kernels::assert_close_rel;

    /// The two paths give the same answers for the same weights and seeds (float rounding apart):
    /// burn's model on the CPU stands in for a GPU device here.
    #[test]
    fn host_and_device_runners_agree() {
        let arch = ArchSpec::preset("D").unwrap();
        let params = arch.init_params(3);
        let device = cpu_device();
        let host = Runner::new(&arch, params.clone(), &device).unwrap();
        assert!(matches!(host, Runner::Host { .. }));
        let burn = Runner::on_device(arch.from_flat(&params, &device).unwrap());
        let digits = Digits::random(40, 5);
        let x = digits.floats(&(0..5).collect::<Vec<_>>());
        block_on(async {
            let (a, b) = (host.encode(x.clone()).await, burn.encode(x.clone()).await);
            let ((mu_a, lv_a), (mu_b, lv_b)) = (a.unwrap(), b.unwrap());
            assert_close_rel(&mu_a, &mu_b, 1e-4, "mu");
            assert_close_rel(&lv_a, &lv_b, 1e-4, "logvar");
            let rec = async |r: &Runner| r.reconstruct(x.clone(), Some(&mut Rng::new(9))).await;
            assert_close_rel(
                &rec(&host).await.unwrap(),
                &rec(&burn).await.unwrap(),
                1e-4,
                "rec",
            );
            let chain = async |r: &Runner| r.chain(3, 4, None, &mut Rng::new(2)).await;
            let (ca, cb) = (chain(&host).await.unwrap(), chain(&burn).await.unwrap());
            assert_eq!(ca.len(), 5 * 3 * PIXELS);
            assert_close_rel(&ca, &cb, 1e-3, "chain");
            let (ea, eb) = (
                host.evaluate(&digits, Some(3), 7).await.unwrap(),
                burn.evaluate(&digits, Some(3), 7).await.unwrap(),
            );
            assert!(
                (ea.nelbo - eb.nelbo).abs() < 1e-3 * ea.nelbo.abs(),
                "{ea:?} {eb:?}"
            );
            let (la, lb) = (ea.log_likelihood.unwrap(), eb.log_likelihood.unwrap());
            assert!((la - lb).abs() < 1e-3 * la.abs(), "{la} {lb}");
            let (sa, sb) = (host.collapse(&digits).await, burn.collapse(&digits).await);
            let (sa, sb) = (sa.unwrap(), sb.unwrap());
            assert_close_rel(&sa.kl_per_latent, &sb.kl_per_latent, 1e-3, "KL per latent");
            assert_eq!(sa.active_units, sb.active_units);
            assert_eq!(host.params().await.unwrap(), params);
            assert_close_rel(&burn.params().await.unwrap(), &params, 1e-6, "read back");
        });
    }

    /// Bad requests are refused with a message, before any work.
    #[test]
    fn a_runner_checks_what_it_is_asked() {
        let arch = ArchSpec::preset("A").unwrap();
        let r = Runner::new(&arch, arch.init_params(1), &cpu_device()).unwrap();
        let mut rng = Rng::new(1);
        block_on(async {
            assert!(r.decode(vec![0.0; 13]).await.is_err());
            assert!(r.decode(vec![f32::NAN; 12]).await.is_err());
            assert_eq!(r.decode(vec![0.0; 24]).await.unwrap().len(), 2 * PIXELS);
            assert!(r.sample(0, &mut rng).await.is_err());
            assert!(r.chain(60, 10_000, None, &mut rng).await.is_err());
            let two = Some(vec![0.5; 2 * PIXELS]);
            assert!(r.chain(3, 2, two.clone(), &mut rng).await.is_err());
            assert_eq!(
                r.chain(2, 2, two, &mut rng).await.unwrap().len(),
                3 * 2 * PIXELS
            );
            assert!(r.encode(vec![2.0; PIXELS]).await.is_err());
            assert!(r.inside(vec![0.5; 2 * PIXELS], 1).await.is_err());
            assert!(r.evaluate(&Digits::random(4, 1), Some(0), 1).await.is_err());
        });
    }
}
