//! The plain configuration and record types: what an architecture is, what a training run
//! does, what an epoch recorded and what a weights file says about itself. No burn here (a leaf
//! module), so the file readers and the fuzzer compile without the engine.

use serde::{Deserialize, Serialize};

use crate::error::VaeError;
use crate::limits::{MAX_BATCH, MAX_BETA, MAX_EPOCHS, MAX_PARAMS};
use crate::rng::Rng;

/// Seed of the held-out estimate's noise: the trainer, `vae eval` and the app use the same one, so
/// their held-out numbers agree.
pub const HELD_OUT_SEED: u64 = 0x7e57;

/// Pixels per image (28 x 28).
pub const PIXELS: usize = 784;

/// ½ ln 2π, the constant of every pixel's Gaussian log-density (burn's loss and the plain-Rust
/// step share it).
pub(crate) const HALF_LN_2PI: f32 = 0.918_938_5;

/// Adam's settings, burn 0.22's defaults: both steps (burn's autodiff with our [`crate::optim`],
/// and [`crate::dense_step`]) use these, so they stay step for step the same.
pub(crate) const BETA_1: f32 = 0.9;
pub(crate) const BETA_2: f32 = 0.999;
pub(crate) const EPSILON: f32 = 1e-5;

/// A saved Adam state fits `total` parameters: empty before the first step, else both moments
/// of every parameter, all finite. (Also [`crate::dense_step::DenseStep::restore_adam`]'s check.)
pub(crate) fn check_state(time: usize, state: &[f32], total: usize) -> Result<(), VaeError> {
    if time == 0 && !state.is_empty() {
        return Err(VaeError::Invalid("optimiser state without steps".into()));
    }
    if time > 0 && state.len() != 2 * total {
        return Err(VaeError::Invalid(format!(
            "optimiser state has {} values, expected {}",
            state.len(),
            2 * total
        )));
    }
    if state.iter().any(|v| !v.is_finite()) {
        return Err(VaeError::Invalid(
            "optimiser state contains NaN or infinity".into(),
        ));
    }
    Ok(())
}

/// What the decoder's last layer gives as the mean of p(x|z).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecoderOutput {
    /// sigmoid(logits): a pixel intensity in (0, 1) (ours, the default).
    #[default]
    Sigmoid,
    /// The logits themselves, as in the report ("the same structure reversed").
    Linear,
}

impl DecoderOutput {
    pub fn is_sigmoid(&self) -> bool {
        *self == DecoderOutput::Sigmoid
    }
}

/// An architecture: encoder hidden widths (the decoder mirrors them), the latent dimension and
/// the decoder's output.
/// (Plain serde rather than burn's `Config`: the output field must stay out of the files of
/// sigmoid models, so that they read and write exactly as before it existed.)
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArchSpec {
    /// Widths of the encoder's hidden layers, input side first; ReLU after each.
    pub hidden: Vec<usize>,
    /// Dimension of z.
    #[serde(default = "default_latent")]
    pub latent: usize,
    /// The decoder mean: sigmoid (default) or linear (the report's). Weights files written
    /// before this existed have no field and are sigmoid; a sigmoid spec writes none.
    #[serde(default, skip_serializing_if = "DecoderOutput::is_sigmoid")]
    pub output: DecoderOutput,
}

fn default_latent() -> usize {
    12
}

impl ArchSpec {
    /// Encoder hidden widths; latent 12, sigmoid output.
    pub fn new(hidden: Vec<usize>) -> Self {
        Self {
            hidden,
            latent: default_latent(),
            output: DecoderOutput::Sigmoid,
        }
    }

    pub fn with_latent(mut self, latent: usize) -> Self {
        self.latent = latent;
        self
    }

    pub fn with_output(mut self, output: DecoderOutput) -> Self {
        self.output = output;
        self
    }
}

impl std::fmt::Display for ArchSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// The report's five models (Table I).
pub const PRESETS: [(&str, &[usize]); 5] = [
    ("A", &[]),
    ("B", &[32]),
    ("C", &[64]),
    ("D", &[60, 32]),
    ("E", &[60, 32, 20]),
];

/// The shipped two-latent model, not one of the report's: C's widths with dim z = 2, so that the
/// decoded (z1, z2) plane is there without training first (name, hidden widths, latent).
pub const TWO_LATENT: (&str, &[usize], usize) = ("C2", &[64], 2);

impl ArchSpec {
    /// A–E from the report (latent dimension 12), or [`TWO_LATENT`]'s "C2".
    pub fn preset(name: &str) -> Result<Self, VaeError> {
        let (two, two_hidden, two_latent) = TWO_LATENT;
        if two.eq_ignore_ascii_case(name) {
            return Ok(ArchSpec::new(two_hidden.to_vec()).with_latent(two_latent));
        }
        PRESETS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, hidden)| ArchSpec::new(hidden.to_vec()))
            .ok_or_else(|| {
                VaeError::Invalid(format!(
                    "unknown architecture '{name}' (expected A, B, C, D, E or {two})"
                ))
            })
    }

    /// The preset name this spec's layers match, if any (whatever its output).
    pub fn preset_name(&self) -> Option<&'static str> {
        let (two, two_hidden, two_latent) = TWO_LATENT;
        if self.hidden.as_slice() == two_hidden && self.latent == two_latent {
            return Some(two);
        }
        PRESETS
            .iter()
            .find(|(_, h)| *h == self.hidden.as_slice() && self.latent == 12)
            .map(|(n, _)| *n)
    }

    /// Reject shapes no one means (zero widths, absurd sizes) before allocating anything.
    pub fn validate(&self) -> Result<(), VaeError> {
        use crate::limits::{MAX_HIDDEN_LAYERS, MAX_LATENT, MAX_WIDTH};
        if self.latent == 0 || self.latent > MAX_LATENT {
            return Err(VaeError::Invalid(format!(
                "latent dimension {} is outside 1..={MAX_LATENT}",
                self.latent
            )));
        }
        if self.hidden.len() > MAX_HIDDEN_LAYERS
            || self.hidden.iter().any(|&w| w == 0 || w > MAX_WIDTH)
        {
            return Err(VaeError::Invalid(format!(
                "hidden widths {:?}: at most {MAX_HIDDEN_LAYERS} layers, each 1..={MAX_WIDTH} wide",
                self.hidden
            )));
        }
        Ok(())
    }

    /// Encoder layer sizes: 784 -> hidden... -> 2*latent.
    pub(crate) fn encoder_dims(&self) -> Vec<usize> {
        let mut dims = vec![PIXELS];
        dims.extend(&self.hidden);
        dims.push(2 * self.latent);
        dims
    }

    /// Decoder layer sizes: latent -> reversed hidden... -> 784.
    pub(crate) fn decoder_dims(&self) -> Vec<usize> {
        let mut dims = vec![self.latent];
        dims.extend(self.hidden.iter().rev());
        dims.push(PIXELS);
        dims
    }

    /// Shapes of every parameter tensor, in the order of [`Vae::flat_params`].
    pub fn param_shapes(&self) -> Vec<Vec<usize>> {
        let mut shapes = Vec::new();
        for dims in [self.encoder_dims(), self.decoder_dims()] {
            for w in dims.windows(2) {
                shapes.push(vec![w[0], w[1]]);
                shapes.push(vec![w[1]]);
            }
        }
        shapes.push(vec![1]); // log sigma
        shapes
    }

    /// Names of the parameter groups of [`Vae::grad_norms_sq`]: each layer (weight and bias),
    /// input side first, then log σ.
    pub fn layer_names(&self) -> Vec<String> {
        let n = self.hidden.len();
        let mut names: Vec<String> = (1..=n).map(|i| format!("h{i}")).collect();
        names.push("μ, log σ² head".into());
        names.extend((1..=n).map(|i| format!("g{i}")));
        names.push("x̂ head".into());
        names.push("log σ".into());
        names
    }

    /// Number of scalars in each parameter tensor, in the order of [`ArchSpec::param_shapes`].
    pub fn param_sizes(&self) -> Vec<usize> {
        self.param_shapes()
            .iter()
            .map(|s| s.iter().product())
            .collect()
    }

    /// Number of scalar parameters (Table I of the report).
    pub fn param_count(&self) -> usize {
        self.param_shapes()
            .iter()
            .map(|s| s.iter().product::<usize>())
            .sum()
    }

    /// A short human label: "C" for presets, else "[60,32] z=8"; "-linear" after a linear output.
    pub fn label(&self) -> String {
        let base = match self.preset_name() {
            Some(n) => n.to_string(),
            None => format!("{:?} z={}", self.hidden, self.latent)
                .replace(' ', "")
                .replace("z=", " z="),
        };
        match self.output {
            DecoderOutput::Sigmoid => base,
            DecoderOutput::Linear => format!("{base}-linear"),
        }
    }

    /// A fresh flat parameter vector: weights and biases ~ U(-k, k), k = 1/sqrt(fan_in)
    /// (PyTorch's and burn's default for linear layers), drawn from our seeded [`Rng`] so a seed
    /// means the same model on every backend; log sigma starts at 0.
    pub fn init_params(&self, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        let shapes = self.param_shapes();
        let mut flat = Vec::with_capacity(self.param_count());
        let mut fan_in = 1;
        for shape in &shapes[..shapes.len() - 1] {
            if shape.len() == 2 {
                fan_in = shape[0]; // a weight [in, out]; its bias follows with the same fan-in
            }
            let k = 1.0 / (fan_in as f64).sqrt();
            let n: usize = shape.iter().product();
            flat.extend((0..n).map(|_| ((2.0 * rng.uniform() - 1.0) * k) as f32));
        }
        flat.push(0.0); // log sigma = 0, i.e. sigma = 1
        flat
    }

    /// A valid architecture, and `flat` as long as its parameter vector.
    pub fn check_flat(&self, flat: &[f32]) -> Result<(), VaeError> {
        self.validate()?;
        if flat.len() != self.param_count() {
            return Err(VaeError::Invalid(format!(
                "architecture {} needs {} parameters, got {}",
                self.label(),
                self.param_count(),
                flat.len()
            )));
        }
        Ok(())
    }
}

/// What a training run does: the architecture and Adam's settings. The defaults are the report's.
///
/// (Plain serde rather than burn's `#[derive(Config)]`, which needs burn: the same JSON, fields
/// in the order burn's derive wrote them (required, optional, defaulted), so checkpoints made
/// before read and write the same.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingConfig {
    pub arch: ArchSpec,
    /// Use only the first `limit` training digits (quick runs, tests).
    pub limit: Option<usize>,
    /// Default 100 (the report's).
    pub epochs: usize,
    /// Adam's learning rate; default 1e-3.
    pub lr: f64,
    /// Default 64.
    pub batch: usize,
    /// Default 0.
    pub seed: u64,
    /// Weight β of the KL term in the training objective rec + β·KL (1: the ELBO; larger values
    /// push latents towards the prior and switch unneeded ones off). Reported numbers stay the
    /// true nELBO.
    pub beta: f64,
    /// Raise the KL weight linearly from 0 to β over this many epochs (0: β from the start).
    pub kl_warmup: usize,
}

impl TrainingConfig {
    /// The report's settings for `arch`.
    pub fn new(arch: ArchSpec) -> Self {
        Self {
            arch,
            limit: None,
            epochs: 100,
            lr: 1e-3,
            batch: 64,
            seed: 0,
            beta: 1.0,
            kl_warmup: 0,
        }
    }

    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    pub fn with_lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn with_limit(mut self, limit: Option<usize>) -> Self {
        self.limit = limit;
        self
    }

    pub fn with_beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }

    pub fn with_kl_warmup(mut self, kl_warmup: usize) -> Self {
        self.kl_warmup = kl_warmup;
        self
    }
}

/// Per-image averages of the objective's parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub nelbo: f64,
    pub kl: f64,
    pub rec: f64,
}

impl Metrics {
    /// From a read-back [nelbo, kl, rec, weight] sum vector: divides by the weight.
    pub fn from_sums(sums: &[f32]) -> Metrics {
        let w = sums[3].max(1e-12) as f64;
        Metrics {
            nelbo: sums[0] as f64 / w,
            kl: sums[1] as f64 / w,
            rec: sums[2] as f64 / w,
        }
    }

    pub fn is_finite(&self) -> bool {
        self.nelbo.is_finite() && self.kl.is_finite() && self.rec.is_finite()
    }
}

/// One finished epoch: training averages over its steps and the held-out estimate after it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: u64,
    pub train: Metrics,
    pub test: Metrics,
}

/// Which engine steps a run, for messages and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepEngine {
    Burn,
    Dense,
}

impl TrainingConfig {
    /// Refuse settings that cannot train (or would not fit a browser tab): see [`crate::limits`].
    pub fn validate(&self) -> Result<(), VaeError> {
        self.arch.validate()?;
        if self.arch.param_count() > MAX_PARAMS {
            return Err(VaeError::Invalid(format!(
                "architecture {} has {} parameters; at most {MAX_PARAMS} can be trained",
                self.arch.label(),
                self.arch.param_count()
            )));
        }
        // written so that NaN fails too
        let (min_lr, max_lr) = (crate::limits::MIN_LR, crate::limits::MAX_LR);
        let lr_ok = self.lr > min_lr && self.lr < max_lr;
        if !(1..=MAX_EPOCHS).contains(&self.epochs)
            || !(1..=MAX_BATCH).contains(&self.batch)
            || !lr_ok
        {
            return Err(VaeError::Invalid(format!(
                "training options out of range: epochs {} (1..={MAX_EPOCHS}), batch {} (1..={MAX_BATCH}), lr {} (between {min_lr} and {max_lr})",
                self.epochs, self.batch, self.lr
            )));
        }
        if !(0.0..=MAX_BETA).contains(&self.beta) || self.kl_warmup > MAX_EPOCHS {
            return Err(VaeError::Invalid(format!(
                "KL options out of range: beta {} (0..={MAX_BETA}), kl_warmup {} epochs (0..={MAX_EPOCHS})",
                self.beta, self.kl_warmup
            )));
        }
        if self.limit == Some(0) {
            return Err(VaeError::Invalid(
                "limit must be at least 1 training digit".into(),
            ));
        }
        Ok(())
    }
}

/// How a weights file was made. Every field is optional so that a model trained in the browser
/// (or by a future version) can leave out what it does not know; a field that does not parse is
/// dropped, not fatal (see [`WeightsMeta::lenient`]). Integers are fixed-width (u64), so the CLI
/// and the 32-bit wasm engine accept exactly the same files.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeightsMeta {
    pub dataset: Option<String>,
    pub epochs: Option<u64>,
    pub seed: Option<u64>,
    pub lr: Option<f64>,
    pub batch: Option<u64>,
    /// KL weight of the training objective, when not 1 (β-VAE runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Epochs of linear KL warm-up, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kl_warmup: Option<u64>,
    pub train_nelbo: Option<f64>,
    pub train_kl: Option<f64>,
    pub train_rec: Option<f64>,
    pub test_nelbo: Option<f64>,
    pub test_kl: Option<f64>,
    pub sigma: Option<f64>,
    pub active_units: Option<u64>,
    pub train_seconds: Option<f64>,
    pub created_by: Option<String>,
    /// Per-epoch training curve (the report's Fig. 1-2), if the file was made by training.
    pub history: Option<Vec<EpochRecord>>,
    /// The run's settings, for a run the page started fresh on the plain-Rust step, the same in
    /// every browser: with all of `recipe.epochs` finished they train these weights again bit for
    /// bit, so a link can carry them instead of the weights (`www/run-link.js`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipe: Option<TrainingConfig>,
}

impl WeightsMeta {
    /// Keep every field that parses and drop the rest: the metadata only describes the weights,
    /// so a malformed `history` or `epochs` must not make the weights unusable.
    pub fn lenient(value: serde_json::Value) -> WeightsMeta {
        let serde_json::Value::Object(fields) = value else {
            return WeightsMeta::default();
        };
        let good: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .filter(|(k, v)| {
                let one = serde_json::Value::Object([(k.clone(), v.clone())].into_iter().collect());
                serde_json::from_value::<WeightsMeta>(one).is_ok()
            })
            .collect();
        serde_json::from_value(serde_json::Value::Object(good)).unwrap_or_default()
    }
}
