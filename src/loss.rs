//! The objective: the negative ELBO in nats per image, and its parts.
//!
//! nELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I)), estimated with one reparameterised
//! sample z = mu + exp(logvar/2) * eps, eps ~ N(0, I), and averaged over the batch.
//! -log p(x|z) = sum over 784 pixels of [ log sigma + ln(2 pi)/2 + (x - mean)^2 / (2 sigma^2) ].

use burn::prelude::*;

use crate::model::{Vae, PIXELS};

use crate::config::HALF_LN_2PI;

/// Batch means of the objective and its parts. All live on the device; read them back only
/// when something is displayed.
#[derive(Clone, Debug)]
pub struct Elbo {
    /// Negative ELBO [1] = rec + kl.
    pub nelbo: Tensor<1>,
    /// Reconstruction term E_q[-log p(x|z)] [1].
    pub rec: Tensor<1>,
    /// Total KL(q(z|x) || p(z)) [1].
    pub kl: Tensor<1>,
    /// KL of each latent coordinate [L]; sums to `kl`.
    pub kl_per_latent: Tensor<1>,
}

/// Per-element KL(N(mu, exp(logvar)) || N(0, 1)) = (mu^2 + exp(logvar) - 1 - logvar) / 2.
pub fn kl_elements(mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<2> {
    (mu.clone() * mu + logvar.clone().exp() - logvar - 1.0) * 0.5
}

/// Gaussian negative log-likelihood of x under N(mean, sigma^2 I), summed over pixels: [n, 1].
pub fn gaussian_nll(x: Tensor<2>, mean: Tensor<2>, log_sigma: Tensor<1>) -> Tensor<2> {
    let log_sigma = log_sigma.reshape([1, 1]);
    let diff = x - mean;
    let sq = (diff.clone() * diff).sum_dim(1); // [n, 1]
    let inv_two_var = (log_sigma.clone() * -2.0).exp() * 0.5; // 1 / (2 sigma^2)
    sq * inv_two_var + (log_sigma + HALF_LN_2PI) * PIXELS as f32
}

impl Elbo {
    /// [nelbo, kl, rec, 1] * batch size as a [4] tensor: summing these over batches and dividing
    /// by the last entry gives per-image averages that weight a short last batch correctly.
    pub fn weighted_sums(&self, n: usize) -> Tensor<1> {
        let one = Tensor::<1>::ones([1], &self.nelbo.device());
        Tensor::cat(
            vec![self.nelbo.clone(), self.kl.clone(), self.rec.clone(), one],
            0,
        )
        .detach()
            * n as f32
    }

    /// x: [n, 784] pixels in [0, 1]; eps: [n, L] standard normal noise (explicit so that
    /// the caller's seeded RNG, not the backend's, decides the sample).
    pub fn compute(model: &Vae, x: Tensor<2>, eps: Tensor<2>) -> Elbo {
        let (mu, logvar) = model.encode(x.clone());
        let z = mu.clone() + (logvar.clone() * 0.5).exp() * eps;
        let mean = model.decode(z);
        let rec = gaussian_nll(x, mean, model.log_sigma()).mean();
        let [_, l] = mu.dims();
        let kl_per_latent = kl_elements(mu, logvar).mean_dim(0).reshape([l]);
        let kl = kl_per_latent.clone().sum();
        Elbo {
            nelbo: rec.clone() + kl.clone(),
            rec,
            kl,
            kl_per_latent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArchSpec;

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_data().try_to_vec::<f32>().unwrap()[0]
    }

    /// Model A with every weight 0: mu and logvar are the encoder head's biases, the decoder mean
    /// is sigmoid(its bias) whatever z is. Then every term has a closed form.
    #[test]
    fn matches_a_hand_computed_case() {
        let device = crate::device::cpu_device();
        let spec = ArchSpec::preset("A").unwrap();
        let mut flat = vec![0.0f32; spec.param_count()];
        // encoder head bias: 784*24 weights first, then 24 biases (12 mu, 12 logvar)
        let enc_bias = 784 * 24;
        flat[enc_bias] = 1.0; // mu_0 = 1
        flat[enc_bias + 12 + 1] = 2f32.ln(); // logvar_1 = ln 2
                                             // decoder bias (784 values) sits before log sigma, at the very end
        let p = flat.len();
        flat[p - 1] = 0.5f32.ln(); // log sigma: sigma = 0.5
                                   // all decoder biases 0 -> mean = sigmoid(0) = 0.5 everywhere
        let model = spec.from_flat(&flat, &device).unwrap();
        // two images: all ones, and all zeros -> squared error 0.25 per pixel either way
        let mut pixels = vec![1.0f32; 784];
        pixels.extend(vec![0.0f32; 784]);
        let x = Tensor::<2>::from_data(TensorData::new(pixels, [2, 784]), &device);
        let eps = Tensor::<2>::from_data(TensorData::new(vec![0.3f32; 24], [2, 12]), &device);
        let elbo = Elbo::compute(&model, x, eps);

        // KL: latent 0: (1 + 1 - 1 - 0)/2 = 0.5; latent 1: (0 + 2 - 1 - ln 2)/2; others 0
        let kl1 = (2.0 - 1.0 - 2f64.ln()) / 2.0;
        let kl = 0.5 + kl1;
        // rec per image: 784 * (ln 0.5 + ln(2 pi)/2) + 784 * 0.25 / (2 * 0.25)
        let rec = 784.0 * (0.5f64.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln()) + 784.0 * 0.5;
        let per_latent = elbo.kl_per_latent.into_data().try_to_vec::<f32>().unwrap();
        assert!((per_latent[0] as f64 - 0.5).abs() < 1e-6);
        assert!((per_latent[1] as f64 - kl1).abs() < 1e-6);
        assert!(per_latent[2..].iter().all(|v| v.abs() < 1e-7));
        assert!((scalar(elbo.kl) as f64 - kl).abs() < 1e-5);
        assert!((scalar(elbo.rec) as f64 - rec).abs() < 1e-2, "rec");
        assert!((scalar(elbo.nelbo) as f64 - (rec + kl)).abs() < 1e-2);
    }

    /// Autodiff against central finite differences on a tiny model, in f64-free f32 arithmetic:
    /// a step of 1e-2 on a loss of a few hundred nats keeps rounding error well under 1%.
    #[test]
    fn gradients_match_finite_differences() {
        let device = crate::device::cpu_device();
        let ad = device.clone().autodiff();
        let spec = ArchSpec::new(vec![3]).with_latent(2);
        let base = crate::device::read_f32(spec.init(&device, 4).flat_params()).unwrap();
        let mut rng = crate::rng::Rng::new(8);
        let pixels: Vec<f32> = (0..3 * 784).map(|_| rng.uniform() as f32).collect();
        let eps = rng.normals(3 * 2);
        let loss = |flat: &[f32], dev: &Device| {
            let model = spec.from_flat(flat, dev).unwrap();
            let x = Tensor::<2>::from_data(TensorData::new(pixels.clone(), [3, 784]), dev);
            let e = Tensor::<2>::from_data(TensorData::new(eps.clone(), [3, 2]), dev);
            (Elbo::compute(&model, x, e).nelbo, model)
        };
        let (nelbo, model) = loss(&base, &ad);
        let grads = nelbo.backward();
        let analytic = crate::device::read_f32(model.flat_grads(&grads)).unwrap();
        let p = base.len();
        // one parameter of every kind: encoder weight/bias, head, decoder, log sigma
        let probes = [
            0,
            5 * 3 + 1,
            784 * 3 + 1,
            784 * 3 + 3 + 2,
            784 * 3 + 3 + 12 + 1,
            p - 785 - 10,
            p - 3,
            p - 1,
        ];
        for i in probes {
            let h = 1e-2f32;
            let mut plus = base.clone();
            plus[i] += h;
            let mut minus = base.clone();
            minus[i] -= h;
            let f = |v: &[f32]| crate::device::read_f32(loss(v, &device).0).unwrap()[0];
            let numeric = (f(&plus) - f(&minus)) / (2.0 * h);
            let tol = 0.02 * analytic[i].abs().max(numeric.abs()) + 0.05;
            assert!(
                (numeric - analytic[i]).abs() < tol,
                "param {i}: autodiff {} vs numeric {numeric}",
                analytic[i]
            );
        }
        assert!(analytic[p - 1].abs() > 1.0, "log sigma matters");
    }

    /// The per-layer gradient norms the page shows in slow motion are the norms of exactly the
    /// gradients autodiff gives, grouped layer by layer (weight and bias), then log σ.
    #[test]
    fn per_layer_gradient_norms_group_the_gradients() {
        let ad = crate::device::cpu_device().autodiff();
        let spec = ArchSpec::new(vec![5, 4]).with_latent(3);
        let model = spec.init(&ad, 2);
        let mut rng = crate::rng::Rng::new(1);
        let x = Tensor::<2>::from_data(
            TensorData::new(
                (0..2 * 784)
                    .map(|_| rng.uniform() as f32)
                    .collect::<Vec<_>>(),
                [2, 784],
            ),
            &ad,
        );
        let eps = Tensor::<2>::from_data(TensorData::new(rng.normals(2 * 3), [2, 3]), &ad);
        let grads = Elbo::compute(&model, x, eps).nelbo.backward();
        let flat = crate::device::read_f32(model.flat_grads(&grads)).unwrap();
        let params = burn::optim::GradientsParams::from_grads(grads, &model);
        let norms = crate::device::read_f32(model.grad_norms_sq(&params)).unwrap();
        let names = model.layer_names();
        assert_eq!(
            names,
            ["h1", "h2", "μ, log σ² head", "g1", "g2", "x̂ head", "log σ"]
        );
        assert_eq!(norms.len(), names.len());
        // weight and bias of each layer, in flat order, then log sigma
        let shapes = spec.param_shapes();
        let mut at = 0;
        let mut want = Vec::new();
        for pair in shapes[..shapes.len() - 1].chunks(2) {
            let n: usize = pair.iter().map(|s| s.iter().product::<usize>()).sum();
            want.push(flat[at..at + n].iter().map(|g| (g * g) as f64).sum::<f64>());
            at += n;
        }
        want.push((flat[at] * flat[at]) as f64);
        for (i, (got, want)) in norms.iter().zip(&want).enumerate() {
            assert!(
                (*got as f64 - want).abs() <= 1e-4 * want.max(1e-6),
                "{}: {got} vs {want}",
                names[i]
            );
        }
    }
}
