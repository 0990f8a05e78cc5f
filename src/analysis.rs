//! What the report does with a trained model: reconstructions, samples, fixed-point chains,
//! posterior-collapse statistics; plus the helpers the app needs (drawing preprocessing, PCA map).
//! Functions return device tensors; the caller reads them back (sync natively, async on the web).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Digits;
use crate::loss::{kl_elements, Elbo};
use crate::model::{Vae, PIXELS};
use crate::rng::noise;
use crate::rng::Rng;

/// Reconstruction of x [n, 784]: decoder mean of the encoder mean, or of a sampled z if `rng` is
/// given. -> [n, 784].
pub fn reconstruct(model: &Vae, x: Tensor<2>, rng: Option<&mut Rng>) -> Tensor<2> {
    let (mu, logvar) = model.encode(x);
    let z = match rng {
        Some(rng) => {
            let [n, l] = mu.dims();
            mu + (logvar * 0.5).exp() * noise(rng, n, l, &model.log_sigma().device())
        }
        None => mu,
    };
    model.decode(z)
}

/// n decoder means from z ~ N(0, I). -> [n, 784].
pub fn sample(model: &Vae, n: usize, rng: &mut Rng) -> Tensor<2> {
    let device = model.log_sigma().device();
    model.decode(noise(rng, n, model.latent(), &device))
}

/// Held-out metrics as a device tensor [nelbo, kl, rec, n] of sums (see `Metrics::from_sums`).
/// One fixed-seed sample per image ([`crate::config::HELD_OUT_SEED`]), so the number is
/// comparable across epochs.
pub fn evaluate(model: &Vae, digits: &Digits, device: &Device, seed: u64) -> Tensor<1> {
    let mut rng = Rng::new(seed);
    let latent = model.latent();
    let idx: Vec<usize> = (0..digits.len()).collect();
    let mut total = Tensor::<1>::zeros([4], device);
    for chunk in idx.chunks(500) {
        let x = digits.batch(chunk, device);
        let elbo = Elbo::compute(model, x, noise(&mut rng, chunk.len(), latent, device));
        total = total + elbo.weighted_sums(chunk.len());
    }
    total
}

/// The report's limiting-distribution experiment: repeat encode, sample, decode, sample.
#[derive(Clone, Copy, Debug)]
pub struct FixedPointChain {
    pub steps: usize,
}

impl FixedPointChain {
    /// Run from z ~ N(0, I) (`start = None`, n chains) or from images `start` [n, 784].
    /// Frame 0 is the decoded prior sample (or the start image); each of the `steps` iterations
    /// draws x ~ N(frame, sigma^2 I), z ~ q(z|x), and records the next frame = decoder mean of z.
    /// Returns steps + 1 frames of [n, 784].
    pub fn run(
        &self,
        model: &Vae,
        n: usize,
        start: Option<Tensor<2>>,
        rng: &mut Rng,
    ) -> Vec<Tensor<2>> {
        let mut frames = Vec::with_capacity(self.steps + 1);
        self.for_each(model, n, start, rng, |_, frame| {
            frames.push(frame);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
        frames
    }

    /// [`FixedPointChain::run`], handing frame `i` to `f` as soon as it exists instead of keeping
    /// every frame: memory stays flat however many steps (the CLI streams them to a GIF).
    pub fn for_each<E>(
        &self,
        model: &Vae,
        n: usize,
        start: Option<Tensor<2>>,
        rng: &mut Rng,
        mut f: impl FnMut(usize, Tensor<2>) -> Result<(), E>,
    ) -> Result<(), E> {
        let device = model.log_sigma().device();
        let latent = model.latent();
        let sigma = model.log_sigma().exp().reshape([1, 1]);
        let mut frame = match start {
            Some(x) => x,
            None => model.decode(noise(rng, n, latent, &device)),
        };
        let n = frame.dims()[0];
        f(0, frame.clone())?;
        for i in 1..=self.steps {
            // ziggurat normals: n x 784 per step is most of a chain's random draws
            let mut eps = vec![0.0f32; n * PIXELS];
            rng.fill_normals(&mut eps);
            let pixel_noise = Tensor::from_data(TensorData::new(eps, [n, PIXELS]), &device);
            let x = frame + pixel_noise * sigma.clone();
            let (mu, logvar) = model.encode(x);
            let z = mu + (logvar * 0.5).exp() * noise(rng, n, latent, &device);
            frame = model.decode(z);
            f(i, frame.clone())?;
        }
        Ok(())
    }
}

/// Device-side sums for [`CollapseStats`] over a chunk of images x [n, 784]:
/// [3L] = (Σ_x KL_i, Σ_x mu_i, Σ_x mu_i²) per latent i. Chunks add up, so statistics over any
/// number of images run in bounded memory ([`CollapseSums`]).
pub fn collapse_chunk(model: &Vae, x: Tensor<2>) -> Tensor<1> {
    let (mu, logvar) = model.encode(x);
    let [_, l] = mu.dims();
    let kl = kl_elements(mu.clone(), logvar).sum_dim(0).reshape([l]);
    let sq = (mu.clone() * mu.clone()).sum_dim(0).reshape([l]);
    Tensor::cat(vec![kl, mu.sum_dim(0).reshape([l]), sq], 0)
}

/// Host accumulator of [`collapse_chunk`] sums, in f64.
#[derive(Clone, Debug, Default)]
pub struct CollapseSums {
    n: usize,
    sums: Vec<f64>,
}

impl CollapseSums {
    /// Add one chunk of `n` images (its read-back [`collapse_chunk`]).
    pub fn add(&mut self, n: usize, chunk: &[f32]) {
        if self.sums.is_empty() {
            self.sums = vec![0.0; chunk.len()];
        }
        self.sums
            .iter_mut()
            .zip(chunk)
            .for_each(|(s, &c)| *s += c as f64);
        self.n += n;
    }

    pub fn finish(self) -> CollapseStats {
        let l = self.sums.len() / 3;
        let n = self.n.max(1) as f64;
        let kl = self.sums[..l].iter().map(|s| (s / n) as f32).collect();
        let var = (0..l)
            .map(|i| {
                let mean = self.sums[l + i] / n;
                (self.sums[2 * l + i] / n - mean * mean).max(0.0) as f32
            })
            .collect();
        CollapseStats::from_parts(self.n, kl, var)
    }
}

/// Collapse statistics over `digits`, [`crate::limits::STATS_CHUNK`] images at a time (sync
/// readback: native, or the CPU backend).
pub fn collapse_stats(
    model: &Vae,
    digits: &crate::data::Digits,
    device: &Device,
) -> Result<CollapseStats, crate::error::VaeError> {
    let mut sums = CollapseSums::default();
    let idx: Vec<usize> = (0..digits.len()).collect();
    for chunk in idx.chunks(crate::limits::STATS_CHUNK) {
        sums.add(
            chunk.len(),
            &crate::device::read_f32(collapse_chunk(model, digits.batch(chunk, device)))?,
        );
    }
    Ok(sums.finish())
}

/// Posterior collapse, as in Sec. III-A of the report (and Burda et al.'s active units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollapseStats {
    pub n: usize,
    /// KL(q(z_i|x) || N(0,1)) averaged over the images, per latent i.
    pub kl_per_latent: Vec<f32>,
    /// Cov over x of E_q[z_i], i.e. the variance of mu_i across images.
    pub mu_variance: Vec<f32>,
    /// Latents with mu_variance > 0.01.
    pub active_units: usize,
    pub total_kl: f32,
}

pub const ACTIVE_UNIT_THRESHOLD: f32 = 0.01;

impl CollapseStats {
    pub fn from_parts(n: usize, kl_per_latent: Vec<f32>, mu_variance: Vec<f32>) -> Self {
        let active_units = mu_variance
            .iter()
            .filter(|&&v| v > ACTIVE_UNIT_THRESHOLD)
            .count();
        let total_kl = kl_per_latent.iter().sum();
        Self {
            n,
            kl_per_latent,
            mu_variance,
            active_units,
            total_kl,
        }
    }
}

/// The plane of the first two principal components of n rows of d numbers: each row's
/// coordinates in it, and the way back: the point (a, b) of the plane is `mean + a axes[0] +
/// b axes[1]` (the Map decodes a click there). `explained`: each axis's share of the total
/// variance. With d = 1 the second axis is zero.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PcaPlane {
    /// [n * 2], row by row.
    pub coords: Vec<f32>,
    pub mean: Vec<f32>,
    /// Two unit vectors of d numbers, orthogonal.
    pub axes: [Vec<f32>; 2],
    pub explained: [f32; 2],
}

/// Project rows of `data` [n, d] onto their first two principal components: [n * 2].
pub fn pca_2d(data: &[f32], n: usize, d: usize) -> Vec<f32> {
    pca_plane(data, n, d).coords
}

/// [`PcaPlane`] of rows `data` [n, d]. Power iteration with deflation on the d x d covariance
/// (d is the latent size, tiny). Signs are fixed so that each component's largest-magnitude
/// loading is positive.
pub fn pca_plane(data: &[f32], n: usize, d: usize) -> PcaPlane {
    if n == 0 || d == 0 {
        let axes = [vec![0.0; d], vec![0.0; d]];
        let mean = vec![0.0; d];
        return PcaPlane {
            coords: Vec::new(),
            mean,
            axes,
            explained: [0.0; 2],
        };
    }
    let mean: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|i| data[i * d + j] as f64).sum::<f64>() / n as f64)
        .collect();
    let mut cov = vec![0.0f64; d * d];
    for i in 0..n {
        for a in 0..d {
            let xa = data[i * d + a] as f64 - mean[a];
            for b in 0..d {
                cov[a * d + b] += xa * (data[i * d + b] as f64 - mean[b]) / n as f64;
            }
        }
    }
    let total: f64 = (0..d).map(|a| cov[a * d + a]).sum();
    let mut components = Vec::new();
    let mut lambdas = Vec::new();
    for k in 0..2.min(d) {
        let mut v: Vec<f64> = (0..d).map(|j| 1.0 + (j as f64) * 0.1 + k as f64).collect();
        let mut lambda = 0.0;
        for _ in 0..500 {
            let mut w: Vec<f64> = (0..d)
                .map(|a| (0..d).map(|b| cov[a * d + b] * v[b]).sum())
                .collect();
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-12 {
                break;
            }
            w.iter_mut().for_each(|x| *x /= norm);
            lambda = norm;
            v = w;
        }
        let big = v
            .iter()
            .cloned()
            .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        if big < 0.0 {
            v.iter_mut().for_each(|x| *x = -*x);
        }
        for a in 0..d {
            for b in 0..d {
                cov[a * d + b] -= lambda * v[a] * v[b];
            }
        }
        lambdas.push(lambda);
        components.push(v);
    }
    let mut out = vec![0.0f32; n * 2];
    for i in 0..n {
        for (k, v) in components.iter().enumerate() {
            out[i * 2 + k] = (0..d)
                .map(|j| (data[i * d + j] as f64 - mean[j]) * v[j])
                .sum::<f64>() as f32;
        }
    }
    let mut explained = [0.0f32; 2];
    for (e, l) in explained.iter_mut().zip(&lambdas) {
        *e = if total > 0.0 { (l / total) as f32 } else { 0.0 };
    }
    let axis = |k: usize| match components.get(k) {
        Some(v) => v.iter().map(|&x| x as f32).collect(),
        None => vec![0.0; d],
    };
    PcaPlane {
        coords: out,
        mean: mean.iter().map(|&m| m as f32).collect(),
        axes: [axis(0), axis(1)],
        explained,
    }
}

/// Turn a drawing into an MNIST-like input, as MNIST itself was made: the ink's bounding box is
/// scaled (aspect kept, area-averaged) so that its longer side is 20 px, then placed in 28 x 28
/// so that its centre of mass is at the centre. `gray`: ink in [0, 1], row-major width x height.
/// Returns 784 values in [0, 1] (all zero for an empty drawing); refuses a drawing of another
/// size than it says, larger than [`crate::limits::MAX_PICTURE_SIDE`] a side, or with NaN.
pub fn preprocess_drawing(
    gray: &[f32],
    width: usize,
    height: usize,
) -> Result<Vec<f32>, crate::error::VaeError> {
    let side = 1..=crate::limits::MAX_PICTURE_SIDE;
    if !side.contains(&width) || !side.contains(&height) || gray.len() != width * height {
        return Err(crate::error::VaeError::Invalid(format!(
            "preprocess: {} values for a {width}x{height} drawing",
            gray.len()
        )));
    }
    if gray.iter().any(|v| !v.is_finite()) {
        let why = "preprocess: the drawing contains NaN";
        return Err(crate::error::VaeError::Invalid(why.into()));
    }
    let mut out = vec![0.0f32; PIXELS];
    let ink = |x: usize, y: usize| gray[y * width + x].clamp(0.0, 1.0);
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if ink(x, y) > 0.05 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    if x0 == usize::MAX {
        return Ok(out);
    }
    let (bw, bh) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
    let scale = 20.0 / bw.max(bh);
    let (tw, th) = (
        ((bw * scale).round() as usize).clamp(1, 20),
        ((bh * scale).round() as usize).clamp(1, 20),
    );
    // area-average: each target pixel averages a grid of source samples over its footprint
    const SS: usize = 6;
    let mut small = vec![0.0f32; tw * th];
    for ty in 0..th {
        for tx in 0..tw {
            let mut acc = 0.0;
            for sy in 0..SS {
                for sx in 0..SS {
                    let fx =
                        x0 as f32 + (tx as f32 + (sx as f32 + 0.5) / SS as f32) * bw / tw as f32;
                    let fy =
                        y0 as f32 + (ty as f32 + (sy as f32 + 0.5) / SS as f32) * bh / th as f32;
                    acc += ink((fx as usize).min(width - 1), (fy as usize).min(height - 1));
                }
            }
            small[ty * tw + tx] = acc / (SS * SS) as f32;
        }
    }
    let peak = small.iter().cloned().fold(0.0f32, f32::max);
    if peak <= 0.0 {
        return Ok(out);
    }
    small.iter_mut().for_each(|v| *v /= peak); // thin strokes still reach full intensity
    let mass: f32 = small.iter().sum();
    let cx = (0..tw * th)
        .map(|i| (i % tw) as f32 * small[i])
        .sum::<f32>()
        / mass;
    let cy = (0..tw * th)
        .map(|i| (i / tw) as f32 * small[i])
        .sum::<f32>()
        / mass;
    let (ox, oy) = ((13.5 - cx).round() as i32, (13.5 - cy).round() as i32);
    for ty in 0..th {
        for tx in 0..tw {
            let (x, y) = (tx as i32 + ox, ty as i32 + oy);
            if (0..28).contains(&x) && (0..28).contains(&y) {
                out[y as usize * 28 + x as usize] = small[ty * tw + tx];
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArchSpec;

    #[test]
    fn sample_and_chain_shapes() {
        let device = crate::device::cpu_device();
        let model = ArchSpec::preset("C").unwrap().init(&device, 1);
        let mut rng = Rng::new(2);
        assert_eq!(sample(&model, 60, &mut rng).dims(), [60, 784]);
        let frames = FixedPointChain { steps: 5 }.run(&model, 7, None, &mut rng);
        assert_eq!(frames.len(), 6);
        assert!(frames.iter().all(|f| f.dims() == [7, 784]));
        let a = crate::device::read_f32(frames[0].clone()).unwrap();
        let b = crate::device::read_f32(frames[5].clone()).unwrap();
        assert_ne!(a, b, "the chain moves");
        assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
        let start = Tensor::<2>::zeros([3, 784], &device);
        let frames = FixedPointChain { steps: 2 }.run(&model, 0, Some(start), &mut rng);
        assert_eq!(frames[2].dims(), [3, 784]);
        let x = Tensor::<2>::ones([4, 784], &device) * 0.5;
        assert_eq!(reconstruct(&model, x.clone(), None).dims(), [4, 784]);
        assert_eq!(reconstruct(&model, x, Some(&mut rng)).dims(), [4, 784]);
    }

    #[test]
    fn seeded_samples_repeat() {
        let device = crate::device::cpu_device();
        let model = ArchSpec::preset("A").unwrap().init(&device, 1);
        let a = crate::device::read_f32(sample(&model, 3, &mut Rng::new(4))).unwrap();
        assert_eq!(
            a,
            crate::device::read_f32(sample(&model, 3, &mut Rng::new(4))).unwrap()
        );
        assert_ne!(
            a,
            crate::device::read_f32(sample(&model, 3, &mut Rng::new(5))).unwrap()
        );
    }

    #[test]
    fn collapse_counts_active_units() {
        let device = crate::device::cpu_device();
        let model = ArchSpec::preset("A").unwrap().init(&device, 1);
        let x = Tensor::<2>::from_data(
            TensorData::new(Rng::new(3).normals(256 * 784), [256, 784]),
            &device,
        );
        let mut sums = CollapseSums::default();
        sums.add(
            256,
            &crate::device::read_f32(collapse_chunk(&model, x.clone())).unwrap(),
        );
        let stats = sums.finish();
        assert_eq!(stats.kl_per_latent.len(), 12);
        // random init on unit-variance inputs: every mu varies (~1/3 variance per unit)
        assert_eq!(stats.active_units, 12);
        // identical inputs: no latent varies across x
        let same = Tensor::<2>::ones([16, 784], &device);
        let mut sums = CollapseSums::default();
        sums.add(
            16,
            &crate::device::read_f32(collapse_chunk(&model, same)).unwrap(),
        );
        assert_eq!(sums.finish().active_units, 0);
        // chunks add up to the one-batch statistics
        let mut parts = CollapseSums::default();
        for (from, n) in [(0, 100), (100, 156)] {
            parts.add(
                n,
                &crate::device::read_f32(collapse_chunk(&model, x.clone().narrow(0, from, n)))
                    .unwrap(),
            );
        }
        let parts = parts.finish();
        for (a, b) in parts.mu_variance.iter().zip(&stats.mu_variance) {
            assert!((a - b).abs() < 1e-4 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn pca_finds_the_main_axis() {
        // points along (1, 1, 0) with small noise in z
        let mut rng = Rng::new(1);
        let mut data = Vec::new();
        for i in 0..200 {
            let t = i as f32 / 10.0 - 10.0;
            data.extend([t, t, 0.01 * rng.normal()]);
        }
        let p = pca_2d(&data, 200, 3);
        // first coordinate is the centred t times sqrt(2) (up to sign), second ~ 0
        let mean_t = (0..200).map(|i| i as f32 / 10.0 - 10.0).sum::<f32>() / 200.0;
        for i in 0..200 {
            let t = i as f32 / 10.0 - 10.0 - mean_t;
            assert!((p[2 * i].abs() - t.abs() * 2f32.sqrt()).abs() < 1e-3);
            assert!(p[2 * i + 1].abs() < 0.05);
        }
    }

    /// The plane maps back: `mean + a axes[0] + b axes[1]` at a row's coordinates is that row's
    /// projection, the axes are orthonormal, and `explained` is each axis's share of the variance.
    #[test]
    fn the_pca_plane_maps_back_into_the_space() {
        let mut rng = Rng::new(4);
        let (n, d) = (300, 5);
        let data: Vec<f32> = (0..n * d)
            .map(|k| rng.normal() * [3.0, 1.0, 0.5, 0.2, 0.1][k % d] + k as f32 % 7.0 * 0.01)
            .collect();
        let p = pca_plane(&data, n, d);
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
        assert!((dot(&p.axes[0], &p.axes[0]) - 1.0).abs() < 1e-4);
        assert!((dot(&p.axes[1], &p.axes[1]) - 1.0).abs() < 1e-4);
        assert!(dot(&p.axes[0], &p.axes[1]).abs() < 1e-3);
        for i in [0, 17, 299] {
            let (a, b) = (p.coords[2 * i], p.coords[2 * i + 1]);
            let row = &data[i * d..(i + 1) * d];
            let centred: Vec<f32> = row.iter().zip(&p.mean).map(|(x, m)| x - m).collect();
            assert!((dot(&centred, &p.axes[0]) - a).abs() < 1e-3);
            assert!((dot(&centred, &p.axes[1]) - b).abs() < 1e-3);
        }
        // the first axis holds most of the variance (3^2 of 10.3), shares add up to at most 1
        assert!(
            p.explained[0] > 0.8 && p.explained[1] > 0.05,
            "{:?}",
            p.explained
        );
        assert!(p.explained[0] + p.explained[1] <= 1.0 + 1e-6);
        assert_eq!(pca_2d(&data, n, d), p.coords);
    }

    #[test]
    fn drawing_is_scaled_and_centred_like_mnist() {
        // a vertical bar in the top-left of a 100 x 80 canvas
        let (w, h) = (100, 80);
        let mut g = vec![0.0; w * h];
        for y in 5..45 {
            for x in 10..18 {
                g[y * w + x] = 1.0;
            }
        }
        let out = preprocess_drawing(&g, w, h).unwrap();
        let rows: Vec<usize> = (0..28)
            .filter(|y| (0..28).any(|x| out[y * 28 + x] > 0.1))
            .collect();
        assert_eq!(rows.len(), 20, "longer side scaled to 20 px");
        let mass: f32 = out.iter().sum();
        let cx = (0..784).map(|i| (i % 28) as f32 * out[i]).sum::<f32>() / mass;
        let cy = (0..784).map(|i| (i / 28) as f32 * out[i]).sum::<f32>() / mass;
        assert!(
            (cx - 13.5).abs() <= 1.0 && (cy - 13.5).abs() <= 1.0,
            "centre of mass {cx},{cy}"
        );
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(preprocess_drawing(&vec![0.0; 100], 10, 10)
            .unwrap()
            .iter()
            .all(|&v| v == 0.0));
    }
}
