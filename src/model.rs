//! The Gaussian VAE of the report: fully connected encoder and mirrored decoder.
//!
//! q(z|x) = N(mu(x), diag(exp(logvar(x)))), p(z) = N(0, I),
//! p(x|z) = N(mean(z), sigma^2 I) with ONE learned scalar log sigma shared by all 784 pixels.
//! The decoder mean goes through a sigmoid so that it is a valid pixel intensity in [0, 1]
//! (the report does not say; this choice does not change the parameter counts of Table I). The
//! report's own decoder is "the same structure reversed", ending in a linear layer: that is
//! [`DecoderOutput::Linear`], part of the architecture and of its weights file.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::relu;

pub use crate::config::{ArchSpec, DecoderOutput, PIXELS, PRESETS, TWO_LATENT};
use crate::data::Digits;
use crate::error::VaeError;
use crate::infer::DenseVae;
use crate::weights::{WeightsFile, WeightsMeta};

/// The logistic function 1 / (1 + e^-x), with one exponential per element. burn 0.22's generic
/// sigmoid computes exp(-log(1 + exp(-x))), three transcendentals, and on the CPU (ndarray, the
/// browser's fallback) those were a third of a training step. The clamp keeps e^-x finite, so the
/// gradient never meets 0 * inf; beyond |x| = 30 the logistic is 0 or 1 to f32 precision anyway.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    (x.clamp(-30.0, 30.0).neg().exp() + 1.0).recip()
}

impl ArchSpec {
    /// A fresh model from [`ArchSpec::init_params`] (the seed alone decides it, on every backend).
    pub fn init(&self, device: &Device, seed: u64) -> Vae {
        self.from_flat(&self.init_params(seed), device)
            .expect("init builds a matching parameter vector")
    }

    /// Build a model from a flat parameter vector laid out as [`ArchSpec::param_shapes`].
    pub fn from_flat(&self, flat: &[f32], device: &Device) -> Result<Vae, VaeError> {
        if let Some(i) = flat.iter().position(|v| !v.is_finite()) {
            return Err(VaeError::Invalid(format!("parameter {i} is not finite")));
        }
        self.build(flat, device)
    }

    /// [`ArchSpec::from_flat`] without the finiteness check: a run in training holds its current
    /// weights as a model even when a step has just made them NaN (its guard then rolls back).
    pub(crate) fn build(&self, flat: &[f32], device: &Device) -> Result<Vae, VaeError> {
        self.check_flat(flat)?;
        let mut offset = 0;
        let mut take = |shape: &[usize]| {
            let n: usize = shape.iter().product();
            let data = TensorData::new(flat[offset..offset + n].to_vec(), shape.to_vec());
            offset += n;
            data
        };
        let mut linear = |d_in: usize, d_out: usize| Linear {
            weight: Param::from_tensor(Tensor::from_data(take(&[d_in, d_out]), device)),
            bias: Some(Param::from_tensor(Tensor::from_data(
                take(&[d_out]),
                device,
            ))),
        };
        let enc: Vec<Linear> = self
            .encoder_dims()
            .windows(2)
            .map(|w| linear(w[0], w[1]))
            .collect();
        let dec: Vec<Linear> = self
            .decoder_dims()
            .windows(2)
            .map(|w| linear(w[0], w[1]))
            .collect();
        let log_sigma = Param::from_tensor(Tensor::from_data(take(&[1]), device));
        let (encoder, enc_out) = split_last(enc);
        let (decoder, dec_out) = split_last(dec);
        Ok(Vae {
            encoder,
            enc_out,
            decoder,
            dec_out,
            log_sigma,
            linear_output: !self.output.is_sigmoid(),
        })
    }
}

fn split_last(mut layers: Vec<Linear>) -> (Vec<Linear>, Linear) {
    let last = layers.pop().expect("at least one layer");
    (layers, last)
}

/// The Gaussian VAE: an MLP encoder to the mean and log-variance of q(z|x), a mirrored MLP
/// decoder to the pixel means of p(x|z) = N(mean, σ²I), and one learned log σ. Build it with
/// [`ArchSpec::init`] or [`ArchSpec::from_flat`].
#[derive(Module, Debug)]
pub struct Vae {
    /// Hidden encoder layers (ReLU after each).
    encoder: Vec<Linear>,
    /// Encoder head: the first half of its output is mu, the second log-variance.
    enc_out: Linear,
    /// Hidden decoder layers (ReLU after each).
    decoder: Vec<Linear>,
    /// Decoder head: logits of the pixel means.
    dec_out: Linear,
    /// log sigma of p(x|z), one scalar, shape [1].
    log_sigma: Param<Tensor<1>>,
    /// The report's decoder: the head's output is the mean itself (no sigmoid).
    linear_output: bool,
}

impl Vae {
    /// The architecture, read off the layer shapes (no separate state to keep in sync).
    pub fn arch(&self) -> ArchSpec {
        let hidden = self.encoder.iter().map(|l| l.weight.shape()[1]).collect();
        ArchSpec::new(hidden)
            .with_latent(self.enc_out.weight.shape()[1] / 2)
            .with_output(if self.linear_output {
                DecoderOutput::Linear
            } else {
                DecoderOutput::Sigmoid
            })
    }

    pub fn latent(&self) -> usize {
        self.enc_out.weight.shape()[1] / 2
    }

    /// x: [n, 784] in [0, 1] -> (mu [n, L], logvar [n, L]).
    pub fn encode(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let mut h = x;
        for layer in &self.encoder {
            h = relu(layer.forward(h));
        }
        let out = self.enc_out.forward(h);
        let l = self.latent();
        (out.clone().narrow(1, 0, l), out.narrow(1, l, l))
    }

    /// z: [n, L] -> decoder mean [n, 784] (in (0, 1) with the sigmoid output).
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let mut h = z;
        for layer in &self.decoder {
            h = relu(layer.forward(h));
        }
        let logits = self.dec_out.forward(h);
        if self.linear_output {
            logits
        } else {
            sigmoid(logits)
        }
    }

    /// Every linear layer in parameter order: encoder, its head, decoder, its head.
    fn layers(&self) -> impl Iterator<Item = &Linear> {
        self.encoder
            .iter()
            .chain([&self.enc_out])
            .chain(&self.decoder)
            .chain([&self.dec_out])
    }

    /// [`ArchSpec::layer_names`] of this model.
    pub fn layer_names(&self) -> Vec<String> {
        self.arch().layer_names()
    }

    /// Squared L2 norm of the gradient of each parameter group ([`Vae::layer_names`]) in `grads`
    /// (a step's gradients, before the optimiser consumes them): [groups], on the device.
    pub fn grad_norms_sq(&self, grads: &burn::optim::GradientsParams) -> Tensor<1> {
        let device = self.log_sigma.val().device();
        let zero = || Tensor::<1>::zeros([1], &device);
        let mut parts = Vec::new();
        for layer in self.layers() {
            let w = grads
                .get::<2>(layer.weight.id)
                .map(|g| (g.clone() * g).sum())
                .unwrap_or_else(zero);
            let b = layer
                .bias
                .as_ref()
                .and_then(|b| grads.get::<1>(b.id))
                .map(|g| (g.clone() * g).sum())
                .unwrap_or_else(zero);
            parts.push(w + b);
        }
        parts.push(
            grads
                .get::<1>(self.log_sigma.id)
                .map(|g| (g.clone() * g).sum())
                .unwrap_or_else(zero),
        );
        Tensor::cat(parts, 0)
    }

    /// log sigma of the decoder noise, shape [1].
    pub fn log_sigma(&self) -> Tensor<1> {
        self.log_sigma.val()
    }

    /// Every parameter flattened into one vector [P], in the order of [`ArchSpec::param_shapes`],
    /// so that saving needs a single readback (async on the web).
    pub fn flat_params(&self) -> Tensor<1> {
        let mut parts: Vec<Tensor<1>> = Vec::new();
        for layer in self.layers() {
            parts.push(layer.weight.val().flatten(0, 1));
            parts.push(layer.bias.as_ref().expect("layers have biases").val());
        }
        parts.push(self.log_sigma.val());
        Tensor::cat(parts, 0)
    }

    /// Gradients of every parameter, laid out like [`Vae::flat_params`] (for gradient checks).
    #[cfg(test)]
    pub(crate) fn flat_grads(&self, grads: &burn::tensor::Gradients) -> Tensor<1> {
        let missing = "every parameter has a gradient";
        let mut parts: Vec<Tensor<1>> = Vec::new();
        for layer in self.layers() {
            parts.push(layer.weight.val().grad(grads).expect(missing).flatten(0, 1));
            parts.push(
                layer
                    .bias
                    .as_ref()
                    .expect("layers have biases")
                    .val()
                    .grad(grads)
                    .expect(missing),
            );
        }
        parts.push(self.log_sigma.val().grad(grads).expect(missing));
        Tensor::cat(parts, 0)
    }
}

/// The weights file's model on a device, and back.
impl WeightsFile {
    /// Native convenience: read the model back synchronously.
    pub fn from_model(model: &Vae, meta: WeightsMeta) -> Result<Self, VaeError> {
        let params = crate::device::read_f32(model.flat_params())?;
        Self::new(model.arch(), meta, params)
    }

    /// Build the model on `device`.
    pub fn to_model(&self, device: &Device) -> Result<Vae, VaeError> {
        self.arch.from_flat(&self.params, device)
    }

    /// Build the model, refusing a file made for another architecture.
    pub fn to_model_of(&self, expected: &ArchSpec, device: &Device) -> Result<Vae, VaeError> {
        self.arch.from_flat(self.params_for(expected)?, device)
    }
}

impl DenseVae {
    /// From a model on the CPU (a synchronous readback: native, or the browser's CPU backend).
    pub fn from_model(model: &Vae) -> Result<Self, VaeError> {
        Self::new(
            &model.arch(),
            &crate::device::read_f32(model.flat_params())?,
        )
    }
}

impl Digits {
    /// Digits `indices` as a tensor [k, 784] on `device`.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.floats(indices), [indices.len(), PIXELS]),
            device,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_the_logistic_with_finite_gradients() {
        let device = crate::device::cpu_device().autodiff();
        let xs = [-200.0f32, -40.0, -5.0, -0.5, 0.0, 0.5, 5.0, 40.0, 200.0];
        let x = Tensor::<1>::from_data(TensorData::new(xs.to_vec(), [xs.len()]), &device)
            .require_grad();
        let y = sigmoid(x.clone());
        let grads = y.clone().sum().backward();
        let y = y.inner().into_data().try_to_vec::<f32>().unwrap();
        let dy = x
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for ((&x, &y), &dy) in xs.iter().zip(&y).zip(&dy) {
            let exact = 1.0 / (1.0 + (-x as f64).exp());
            assert!(
                (y as f64 - exact).abs() < 1e-6,
                "sigmoid({x}) = {y}, want {exact}"
            );
            assert!(
                dy.is_finite() && (dy as f64 - exact * (1.0 - exact)).abs() < 1e-6,
                "sigmoid'({x}) = {dy}"
            );
        }
    }

    #[test]
    fn table_one_parameter_counts() {
        let device = crate::device::cpu_device();
        for ((name, _), expected) in PRESETS.iter().zip([29033, 52201, 103593, 100065, 100953]) {
            let spec = ArchSpec::preset(name).unwrap();
            assert_eq!(spec.param_count(), expected, "model {name}");
            assert_eq!(
                spec.init(&device, 0).num_params(),
                expected,
                "model {name} as built"
            );
        }
    }

    #[test]
    fn arch_is_read_back_from_layers() {
        let device = crate::device::cpu_device();
        let spec = ArchSpec::new(vec![60, 32]).with_latent(5);
        assert_eq!(spec.init(&device, 1).arch(), spec);
        assert_eq!(ArchSpec::preset("e").unwrap().label(), "E");
        assert!(ArchSpec::preset("F").is_err());
        // the shipped two-latent model: C's widths, z = 2, named both ways
        let two = ArchSpec::preset("c2").unwrap();
        assert_eq!((two.hidden.as_slice(), two.latent), (&[64][..], 2));
        assert_eq!(two.label(), "C2");
        // 784·64+64 + 64·4+4 (encoder) + 2·64+64 + 64·784+784 (decoder) + 1 (log σ)
        assert_eq!(two.param_count(), 101_653);
        assert_eq!(two.init(&device, 0).num_params(), 101_653);
        assert!(ArchSpec::new(vec![0]).validate().is_err());
    }

    #[test]
    fn flat_params_round_trip() {
        let device = crate::device::cpu_device();
        let spec = ArchSpec::preset("B").unwrap();
        let model = spec.init(&device, 3);
        let flat = model.flat_params().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(flat.len(), 52201);
        let again = spec
            .from_flat(&flat, &device)
            .unwrap()
            .flat_params()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(flat, again);
        assert!(spec.from_flat(&flat[1..], &device).is_err());
    }
}
