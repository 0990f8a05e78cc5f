//! A tiny seeded random number generator.
//!
//! Why our own: every random draw (initial weights, shuffles, reparameterisation noise, samples,
//! chains) comes from here, so a seed gives the same numbers on native, wasm/CPU and wasm/WebGPU,
//! whatever burn's backends do with their own generators.

/// SplitMix64 (Steele, Lea & Flood 2014): 64-bit state, passes BigCrush, trivially portable.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rng {
    state: u64,
    spare_normal: Option<f32>,
}

/// Noise for the reparameterisation trick, from our seeded stream: [n, latent] on `device`.
#[cfg(feature = "engine")]
pub fn noise(
    rng: &mut Rng,
    n: usize,
    latent: usize,
    device: &burn::prelude::Device,
) -> burn::prelude::Tensor<2> {
    use burn::prelude::*;
    Tensor::from_data(
        TensorData::new(rng.normals(n * latent), [n, latent]),
        device,
    )
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed ^ 0x5DEE_CE66_D1CE_4E5B,
            spare_normal: None,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }

    /// Standard normal by Box–Muller; the second value of each pair is kept for the next call.
    pub fn normal(&mut self) -> f32 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        self.spare_normal = Some((r * theta.sin()) as f32);
        (r * theta.cos()) as f32
    }

    pub fn normals(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.normal()).collect()
    }

    /// Fill `out` with standard normals by the ziggurat method (Marsaglia & Tsang 2000): one
    /// 64-bit draw and a table lookup for ~98% of values, no logarithm or trigonometry. About 10x
    /// cheaper than [`Rng::normal`]'s Box–Muller, which matters where millions are drawn per call
    /// (a chain adds 784 pixel noises per image per step). Training keeps Box–Muller, so the
    /// shipped weights stay reproducible.
    pub fn fill_normals(&mut self, out: &mut [f32]) {
        let t = ziggurat();
        for v in out {
            *v = self.ziggurat_normal(t);
        }
    }

    fn ziggurat_normal(&mut self, t: &Ziggurat) -> f32 {
        loop {
            let u = self.next_u64();
            // layer and value from disjoint bits: the textbook version reuses the value's low bits
            let layer = ((u >> 32) & 127) as usize;
            let hz = u as u32 as i32;
            let x = hz as f64 * t.w[layer];
            if (hz.unsigned_abs() as u64) < t.k[layer] {
                return x as f32; // inside the layer's rectangle
            }
            if layer == 0 {
                // the tail beyond R, by Marsaglia's exponential method
                loop {
                    let a = -(1.0 - self.uniform()).ln() / ZIG_R;
                    let b = -(1.0 - self.uniform()).ln();
                    if b + b >= a * a {
                        let v = ZIG_R + a;
                        return (if hz > 0 { v } else { -v }) as f32;
                    }
                }
            }
            // the wedge: accept under the density
            if t.f[layer] + self.uniform() * (t.f[layer - 1] - t.f[layer]) < (-0.5 * x * x).exp() {
                return x as f32;
            }
        }
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// A new independent stream, so that e.g. shuffling and noise do not disturb each other.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

/// Right edge of the ziggurat's base layer and the area of each of its 128 layers.
const ZIG_R: f64 = 3.442_619_855_899;
const ZIG_V: f64 = 9.912_563_035_262_17e-3;

/// The ziggurat's tables: `k` acceptance thresholds (on |i32|), `w` scales, `f` densities.
struct Ziggurat {
    k: [u64; 128],
    w: [f64; 128],
    f: [f64; 128],
}

fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let m = 2f64.powi(31);
        let (mut k, mut w, mut f) = ([0u64; 128], [0f64; 128], [0f64; 128]);
        let mut d = ZIG_R;
        let mut t = d;
        let q = ZIG_V / (-0.5 * d * d).exp();
        k[0] = ((d / q) * m) as u64;
        k[1] = 0;
        w[0] = q / m;
        w[127] = d / m;
        f[0] = 1.0;
        f[127] = (-0.5 * d * d).exp();
        for i in (1..=126).rev() {
            d = (-2.0 * (ZIG_V / d + (-0.5 * d * d).exp()).ln()).sqrt();
            k[i + 1] = ((d / t) * m) as u64;
            t = d;
            f[i] = (-0.5 * d * d).exp();
            w[i] = d / m;
        }
        Ziggurat { k, w, f }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_normal_moments() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let xs = a.normals(100_000);
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / xs.len() as f32;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
        assert_ne!(Rng::new(8).next_u64(), Rng::new(7).next_u64());
    }

    #[test]
    fn ziggurat_normals_have_normal_moments_and_tails() {
        let mut xs = vec![0.0f32; 1_000_000];
        Rng::new(11).fill_normals(&mut xs);
        let n = xs.len() as f64;
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let kurt = xs.iter().map(|&x| (x as f64 - mean).powi(4)).sum::<f64>() / n / (var * var);
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((var - 1.0).abs() < 0.005, "var {var}");
        assert!((kurt - 3.0).abs() < 0.05, "kurtosis {kurt}");
        // P(|z| < q) for a few quantiles, including the tail beyond the base layer (3.44)
        for (q, p) in [
            (0.5, 0.382_925),
            (1.0, 0.682_689),
            (2.0, 0.954_500),
            (3.5, 0.999_535),
        ] {
            let got = xs.iter().filter(|x| x.abs() < q).count() as f64 / n;
            assert!(
                (got - p).abs() < 0.002,
                "P(|z| < {q}) = {got}, expected {p}"
            );
        }
        assert!(xs.iter().any(|x| x.abs() > 4.0), "no tail values drawn");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<usize> = (0..1000).collect();
        Rng::new(1).shuffle(&mut v);
        assert_ne!(v, (0..1000).collect::<Vec<_>>());
        v.sort();
        assert_eq!(v, (0..1000).collect::<Vec<_>>());
    }
}
