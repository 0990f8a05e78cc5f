//! Training by Adam on the negative ELBO, one step at a time.
//!
//! [`Trainer`] is a state machine rather than a loop so that the same code serves the CLI (which
//! blocks) and the browser worker (which must yield between chunks of steps and read tensors back
//! asynchronously). Losses are accumulated on the device; nothing is read back inside a step.

use burn::optim::GradientsParams;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointHeader};
use crate::data::{Digits, Split};
use crate::dense_step::DenseStep;
use crate::limits::{DIVERGENCE_NATS, MAX_BATCH, MAX_BETA, MAX_EPOCHS, MAX_PARAMS};
use crate::loss::Elbo;
use crate::model::{ArchSpec, Vae};
use crate::optim::Adam;
use crate::rng::Rng;
use crate::VaeError;

/// What a training run does: the architecture and Adam's settings. The defaults are the report's.
#[derive(Config, Debug, PartialEq)]
pub struct TrainingConfig {
    pub arch: ArchSpec,
    #[config(default = 100)]
    pub epochs: usize,
    #[config(default = 1e-3)]
    pub lr: f64,
    #[config(default = 64)]
    pub batch: usize,
    #[config(default = 0)]
    pub seed: u64,
    /// Use only the first `limit` training digits (quick runs, tests).
    pub limit: Option<usize>,
    /// Weight β of the KL term in the training objective rec + β·KL (1: the ELBO; larger values
    /// push latents towards the prior and switch unneeded ones off). Reported numbers stay the
    /// true nELBO.
    #[config(default = 1.0)]
    pub beta: f64,
    /// Raise the KL weight linearly from 0 to β over this many epochs (0: β from the start).
    #[config(default = 0)]
    pub kl_warmup: usize,
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

/// [nelbo, kl, rec, 1] * batch size as a [4] tensor: summing these over batches and dividing by the
/// last entry gives per-image averages that weight a short last batch correctly.
fn weighted_sums(elbo: &Elbo, n: usize) -> Tensor<1> {
    let device = elbo.nelbo.device();
    let one = Tensor::<1>::ones([1], &device);
    Tensor::cat(
        vec![elbo.nelbo.clone(), elbo.kl.clone(), elbo.rec.clone(), one],
        0,
    )
    .detach()
        * n as f32
}

/// Noise for the reparameterisation trick, from our seeded stream.
pub fn noise(rng: &mut Rng, n: usize, latent: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(rng.normals(n * latent), [n, latent]),
        device,
    )
}

/// Seed of the held-out estimate's noise: the trainer, `vae eval` and the app use the same one, so
/// their held-out numbers agree.
pub const HELD_OUT_SEED: u64 = 0x7e57;

/// Held-out metrics as a device tensor [nelbo, kl, rec, n] of sums (see [`Metrics::from_sums`]).
/// One fixed-seed sample per image, so the number is comparable across epochs.
pub fn evaluate(model: &Vae, digits: &Digits, device: &Device, seed: u64) -> Tensor<1> {
    let mut rng = Rng::new(seed);
    let latent = model.latent();
    let idx: Vec<usize> = (0..digits.len()).collect();
    let mut total = Tensor::<1>::zeros([4], device);
    for chunk in idx.chunks(500) {
        let x = digits.batch(chunk, device);
        let elbo = Elbo::compute(model, x, noise(&mut rng, chunk.len(), latent, device));
        total = total + weighted_sums(&elbo, chunk.len());
    }
    total
}

/// [`evaluate`] on the plain-Rust path: the same chunks and the same noise, as host sums
/// [nelbo, kl, rec, n].
fn evaluate_dense(step: &DenseStep, digits: &Digits, seed: u64) -> [f32; 4] {
    let mut rng = Rng::new(seed);
    // a copy for its buffers: held-out evaluation runs once an epoch
    let mut eval = DenseStep::new(step.arch(), step.params().to_vec())
        .expect("the step's parameters fit its architecture");
    let idx: Vec<usize> = (0..digits.len()).collect();
    let mut total = [0.0f32; 4];
    for chunk in idx.chunks(500) {
        let n = chunk.len();
        let eps = rng.normals(n * step.arch().latent);
        let loss = eval.loss(&digits.floats(chunk), &eps, n);
        for (t, v) in total.iter_mut().zip(loss.weighted_sums(n)) {
            *t += v;
        }
    }
    total
}

/// Training in progress. Call [`Trainer::step`] until it reports the end of an epoch, then read
/// [`Trainer::take_epoch_sums`] and [`Trainer::evaluate_test`] back and hand the numbers to
/// [`Trainer::finish_epoch`], which keeps the history and guards against divergence.
pub struct Trainer {
    pub config: TrainingConfig,
    engine: Engine,
    /// The model at the end of the last good epoch (inference copy), for rollback on NaN.
    last_good: Vae,
    train: Digits,
    test: Digits,
    device: Device,
    train_device: Device,
    shuffle_rng: Rng,
    noise_rng: Rng,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    epoch_sums: Tensor<1>,
    chunk_sums: Tensor<1>,
    chunk_steps: usize,
    /// Lowest nELBO seen (chunks and epochs), the reference for the divergence guard.
    best: f64,
    pub history: Vec<EpochRecord>,
    /// Keep each step's per-layer gradient norms (slow motion shows them; off at full speed).
    pub track_grad_norms: bool,
    /// Squared gradient norm per parameter group of the last tracked step ([`Vae::layer_names`]).
    grad_norms_sq: Option<Tensor<1>>,
}

/// What takes the steps. Both run the same objective and the same Adam on the same batches and
/// noise; they differ in float rounding only (tests check them against each other).
enum Engine {
    /// burn's autodiff and our [`Adam`] on the device's backend: WebGPU in the browser, or the
    /// CPU when asked for ([`Trainer::use_burn`]).
    Burn { model: Vae, optim: Adam },
    /// The step in plain Rust ([`DenseStep`]): the CPU's, about twice as fast there.
    Dense(DenseStep),
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

impl Trainer {
    /// Start from `model` (resume) or a fresh one initialised from the config's seed.
    pub fn new(
        config: TrainingConfig,
        model: Option<Vae>,
        split: &Split,
        device: &Device,
    ) -> Result<Self, VaeError> {
        config.validate()?;
        let train = match config.limit {
            Some(n) => split.train.head(n),
            None => split.train.clone(),
        };
        if train.is_empty() {
            return Err(VaeError::Invalid("no training digits".into()));
        }
        let model = match model {
            Some(m) if m.arch() != config.arch => {
                return Err(VaeError::Invalid(format!(
                    "cannot resume: the model is {} but the run asks for {}",
                    m.arch().label(),
                    config.arch.label()
                )))
            }
            Some(m) => m,
            None => config.arch.init(device, config.seed),
        };
        let train_device = device.clone().autodiff();
        // the CPU steps in plain Rust; other devices (WebGPU) through burn
        let engine = if device.clone().without_autodiff() == crate::cpu_device() {
            let params = crate::read_f32(model.flat_params())?;
            Engine::Dense(DenseStep::new(&config.arch, params)?)
        } else {
            Engine::Burn {
                model: model.clone().fork(&train_device).train(),
                optim: Adam::new(),
            }
        };
        let mut root = Rng::new(config.seed.wrapping_add(0x7261_696e));
        let zeros = Tensor::<1>::zeros([4], device);
        Ok(Self {
            engine,
            last_good: model,
            order: (0..train.len()).collect(),
            shuffle_rng: root.fork(),
            noise_rng: root.fork(),
            cursor: 0,
            epoch: 0,
            epoch_sums: zeros.clone(),
            chunk_sums: zeros,
            chunk_steps: 0,
            track_grad_norms: false,
            grad_norms_sq: None,
            best: f64::INFINITY,
            history: Vec::new(),
            test: split.test.clone(),
            train,
            device: device.clone(),
            train_device,
            config,
        })
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.config.batch)
    }

    /// Finished epochs.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Steps taken in the current epoch.
    pub fn step_in_epoch(&self) -> usize {
        self.cursor.div_ceil(self.config.batch)
    }

    pub fn is_done(&self) -> bool {
        self.epoch >= self.config.epochs
    }

    pub fn train_len(&self) -> usize {
        self.train.len()
    }

    /// One Adam step on the next mini-batch. Returns true when the epoch's last batch was used.
    pub fn step(&mut self) -> bool {
        if self.cursor >= self.order.len() {
            self.cursor = 0; // an epoch ended without finish_epoch (benchmarks): never an empty batch
        }
        if self.cursor == 0 {
            self.shuffle_rng.shuffle(&mut self.order);
        }
        let end = (self.cursor + self.config.batch).min(self.order.len());
        let idx = &self.order[self.cursor..end];
        let (n, latent) = (idx.len(), self.config.arch.latent);
        let weight = self.kl_weight();
        let sums = match &mut self.engine {
            Engine::Burn { model, optim } => {
                let x = self.train.batch(idx, &self.train_device);
                let eps = noise(&mut self.noise_rng, n, latent, &self.train_device);
                let elbo = Elbo::compute(model, x, eps);
                let sums = weighted_sums(&elbo, n).inner();
                // the objective: exactly the nELBO at weight 1 (the same graph as before β existed)
                let objective = if weight == 1.0 {
                    elbo.nelbo
                } else {
                    elbo.rec + elbo.kl * weight
                };
                let grads = GradientsParams::from_grads(objective.backward(), &*model);
                if self.track_grad_norms {
                    self.grad_norms_sq = Some(model.grad_norms_sq(&grads));
                }
                *model = optim.step(self.config.lr, model.clone(), grads);
                sums
            }
            Engine::Dense(step) => {
                let x = self.train.floats(idx);
                let eps = self.noise_rng.normals(n * latent);
                let loss = step.step(&x, &eps, n, weight as f32, self.config.lr);
                if self.track_grad_norms {
                    let norms = step.grad_norms_sq();
                    let len = norms.len();
                    self.grad_norms_sq = Some(Tensor::from_data(
                        TensorData::new(norms, [len]),
                        &self.device,
                    ));
                }
                Tensor::from_data(
                    TensorData::new(loss.weighted_sums(n).to_vec(), [4]),
                    &self.device,
                )
            }
        };
        self.epoch_sums = self.epoch_sums.clone() + sums.clone();
        self.chunk_sums = self.chunk_sums.clone() + sums;
        self.chunk_steps += 1;
        self.cursor = end;
        end == self.order.len()
    }

    /// The last tracked step's squared gradient norms per parameter group, taken (once).
    pub fn take_grad_norms_sq(&mut self) -> Option<Tensor<1>> {
        self.grad_norms_sq.take()
    }

    /// The KL weight of the next step: β, ramped up linearly over the warm-up epochs.
    pub fn kl_weight(&self) -> f64 {
        let warmup = self.config.kl_warmup;
        if warmup == 0 {
            return self.config.beta;
        }
        let steps = self.steps_per_epoch().max(1);
        let done = (self.epoch * steps + self.step_in_epoch()) as f64 / (warmup * steps) as f64;
        self.config.beta * done.min(1.0)
    }

    /// Sums since the last call, for live within-epoch charts: ([nelbo, kl, rec, n], steps).
    pub fn take_chunk_sums(&mut self) -> (Tensor<1>, usize) {
        let zeros = Tensor::zeros([4], &self.device);
        (
            std::mem::replace(&mut self.chunk_sums, zeros),
            std::mem::take(&mut self.chunk_steps),
        )
    }

    /// This epoch's training sums (call at the end of an epoch).
    pub fn take_epoch_sums(&mut self) -> Tensor<1> {
        std::mem::replace(&mut self.epoch_sums, Tensor::zeros([4], &self.device))
    }

    /// Held-out sums for the current weights.
    pub fn evaluate_test(&self) -> Tensor<1> {
        match &self.engine {
            Engine::Burn { .. } => evaluate(&self.model(), &self.test, &self.device, HELD_OUT_SEED),
            Engine::Dense(step) => {
                let sums = evaluate_dense(step, &self.test, HELD_OUT_SEED);
                Tensor::from_data(TensorData::new(sums.to_vec(), [4]), &self.device)
            }
        }
    }

    /// Which engine takes the steps.
    pub fn engine(&self) -> StepEngine {
        match self.engine {
            Engine::Burn { .. } => StepEngine::Burn,
            Engine::Dense(_) => StepEngine::Dense,
        }
    }

    /// Step through burn's autodiff from here on, even on the CPU (to reproduce weights trained
    /// before [`DenseStep`], and to compare the engines). Keeps the weights and Adam's state.
    pub fn use_burn(&mut self) -> Result<(), VaeError> {
        let Engine::Dense(step) = &self.engine else {
            return Ok(());
        };
        let model = self.config.arch.build(step.params(), &self.device)?;
        let sizes = self.config.arch.param_sizes();
        let optim = Adam::restore(step.time(), &step.adam_state(), &sizes, &self.device)?;
        self.engine = Engine::Burn {
            model: model.fork(&self.train_device).train(),
            optim,
        };
        Ok(())
    }

    /// Record an epoch whose numbers were read back. A diverged epoch (see [`Trainer::check`])
    /// rolls the weights back to the last good epoch and ends the run with an error that says so.
    pub fn finish_epoch(&mut self, train: Metrics, test: Metrics) -> Result<EpochRecord, VaeError> {
        self.cursor = 0;
        self.check(train, "the epoch's mean")?;
        if !test.is_finite() {
            return Err(self.diverged("the held-out nELBO is not finite".into()));
        }
        // the plain-Rust step's products skip zero inputs, so a NaN weight can sit where no
        // input reaches it without showing in the loss: check the weights themselves
        if let Engine::Dense(step) = &self.engine {
            if let Some(i) = step.params().iter().position(|v| !v.is_finite()) {
                return Err(self.diverged(format!("parameter {i} is not finite")));
            }
        }
        self.epoch += 1;
        self.last_good = self.model();
        let record = EpochRecord {
            epoch: self.epoch as u64,
            train,
            test,
        };
        self.history.push(record);
        Ok(record)
    }

    /// The divergence guard, for a chunk's or an epoch's training numbers: non-finite, or more
    /// than [`DIVERGENCE_NATS`] above the best nELBO of this run, ends the run (weights rolled
    /// back). `what` names the numbers in the message.
    pub fn check(&mut self, m: Metrics, what: &str) -> Result<(), VaeError> {
        if !m.is_finite() {
            return Err(self.diverged(format!(
                "{what} is not finite (nELBO {}, KL {})",
                m.nelbo, m.kl
            )));
        }
        if m.nelbo > self.best + DIVERGENCE_NATS {
            let why = format!(
                "{what} nELBO {:.4e} is more than {DIVERGENCE_NATS} nats above the best so far ({:.1}); try a smaller learning rate",
                m.nelbo, self.best
            );
            return Err(self.diverged(why));
        }
        self.best = self.best.min(m.nelbo);
        Ok(())
    }

    fn diverged(&mut self, why: String) -> VaeError {
        let (epoch, step) = (self.epoch + 1, self.step_in_epoch());
        match &mut self.engine {
            Engine::Burn { model, .. } => {
                *model = self.last_good.clone().fork(&self.train_device).train()
            }
            Engine::Dense(step) => {
                if let Ok(params) = crate::read_f32(self.last_good.flat_params()) {
                    step.set_params(&params);
                }
            }
        }
        self.epoch = self.config.epochs;
        self.cursor = 0;
        VaeError::Diverged(format!(
            "training diverged in epoch {epoch}, step {step}: {why}; weights rolled back to the end of epoch {}",
            epoch - 1
        ))
    }

    /// What a checkpoint reads back from the device, in one go: the parameters, then Adam's
    /// moments. Take it at an epoch end (after [`Trainer::finish_epoch`]) or before the first step.
    pub fn checkpoint_tensor(&self) -> Tensor<1> {
        match &self.engine {
            Engine::Burn { model, optim } => {
                let params = model.valid().flat_params();
                match optim.state_tensor() {
                    Some(state) => Tensor::cat(vec![params, state], 0),
                    None => params,
                }
            }
            Engine::Dense(step) => {
                let floats = [step.params(), &step.adam_state()].concat();
                let len = floats.len();
                Tensor::from_data(TensorData::new(floats, [len]), &self.device)
            }
        }
    }

    /// The checkpoint, from the floats of [`Trainer::checkpoint_tensor`]; `extra` comes back on
    /// resume untouched.
    pub fn checkpoint(&self, floats: Vec<f32>, extra: serde_json::Value) -> Checkpoint {
        Checkpoint {
            header: CheckpointHeader {
                format: 1,
                config: self.config.clone(),
                epoch: self.epoch as u64,
                history: self.history.clone(),
                best: self.best.is_finite().then_some(self.best),
                adam_time: match &self.engine {
                    Engine::Burn { optim, .. } => optim.time(),
                    Engine::Dense(step) => step.time(),
                } as u64,
                shuffle_rng: self.shuffle_rng.clone(),
                noise_rng: self.noise_rng.clone(),
                order: self.order.iter().map(|&i| i as u32).collect(),
                extra,
            },
            floats,
        }
    }

    /// Continue a run from its checkpoint, on the same digits (`split`) it was trained on.
    pub fn resume(
        checkpoint: &Checkpoint,
        split: &Split,
        device: &Device,
    ) -> Result<Self, VaeError> {
        let h = &checkpoint.header;
        let arch = &h.config.arch;
        let n = arch.param_count();
        let model = arch.from_flat(&checkpoint.floats[..n.min(checkpoint.floats.len())], device)?;
        let mut t = Trainer::new(h.config.clone(), Some(model), split, device)?;
        let bad = |why: String| VaeError::Invalid(format!("cannot resume this run: {why}"));
        if h.order.len() != t.train.len() {
            return Err(bad(format!(
                "it trained on {} digits, the data here has {}",
                h.order.len(),
                t.train.len()
            )));
        }
        let mut seen = vec![false; h.order.len()];
        for &i in &h.order {
            match seen.get_mut(i as usize) {
                Some(s) if !*s => *s = true,
                _ => return Err(bad("its digit order is not a permutation".into())),
            }
        }
        if h.epoch > h.config.epochs as u64 || h.history.len() as u64 != h.epoch {
            return Err(bad(format!(
                "{} epochs of history for epoch {} of {}",
                h.history.len(),
                h.epoch,
                h.config.epochs
            )));
        }
        let (time, state) = (h.adam_time as usize, &checkpoint.floats[n..]);
        match &mut t.engine {
            Engine::Burn { optim, .. } => {
                *optim = Adam::restore(time, state, &arch.param_sizes(), device)?
            }
            Engine::Dense(step) => step.restore_adam(time, state)?,
        }
        t.shuffle_rng = h.shuffle_rng.clone();
        t.noise_rng = h.noise_rng.clone();
        t.order = h.order.iter().map(|&i| i as usize).collect();
        t.epoch = h.epoch as usize;
        t.history = h.history.clone();
        t.best = h.best.unwrap_or(f64::INFINITY);
        Ok(t)
    }

    /// Stop early: the run ends with the current weights.
    pub fn stop(&mut self) {
        self.epoch = self.config.epochs;
    }

    /// The current weights as an inference model on the plain device.
    pub fn model(&self) -> Vae {
        match &self.engine {
            Engine::Burn { model, .. } => model.valid(),
            Engine::Dense(step) => self
                .config
                .arch
                .build(step.params(), &self.device)
                .expect("the step's parameters fit its architecture"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::stratified_split;

    /// Small synthetic digits: three blob classes, enough to learn something in an epoch.
    pub(crate) fn toy_split(n: usize) -> Split {
        let mut rng = Rng::new(11);
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let class = (i % 3) as u8;
            let (cx, cy) = [(8.0, 8.0), (20.0, 14.0), (12.0, 20.0)][class as usize];
            for y in 0..28 {
                for x in 0..28 {
                    let d2 = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2);
                    let v = (255.0 * (-d2 / 18.0).exp() + 20.0 * rng.normal()).clamp(0.0, 255.0);
                    pixels.push(v as u8);
                }
            }
            labels.push(class);
        }
        stratified_split(&Digits::new(pixels, Some(labels)).unwrap(), n / 5, 3).unwrap()
    }

    pub(crate) fn run(config: TrainingConfig, split: &Split) -> (Trainer, Vec<EpochRecord>) {
        let device = crate::cpu_device();
        let mut t = Trainer::new(config, None, split, &device).unwrap();
        let mut out = Vec::new();
        while !t.is_done() {
            out.push(guarded_epoch(&mut t).unwrap());
        }
        (t, out)
    }

    #[test]
    fn the_kl_weight_rises_linearly_over_the_warm_up_then_stays_at_beta() {
        let split = toy_split(640);
        let device = crate::cpu_device();
        let config = TrainingConfig::new(ArchSpec::new(vec![8]).with_latent(3))
            .with_epochs(3)
            .with_beta(4.0)
            .with_kl_warmup(2)
            .with_limit(Some(256));
        let mut t = Trainer::new(config, None, &split, &device).unwrap();
        let per_epoch = t.steps_per_epoch();
        assert_eq!(t.kl_weight(), 0.0);
        for _ in 0..per_epoch / 2 {
            t.step();
        }
        let half = (per_epoch / 2) as f64 / (2 * per_epoch) as f64 * 4.0;
        assert!(
            (t.kl_weight() - half).abs() < 1e-12,
            "{} vs {half}",
            t.kl_weight()
        );
        guarded_epoch(&mut t).unwrap(); // finishes epoch 1
        assert!((t.kl_weight() - 2.0).abs() < 1e-12);
        guarded_epoch(&mut t).unwrap();
        assert_eq!(t.kl_weight(), 4.0);
        assert!(TrainingConfig::new(ArchSpec::preset("A").unwrap())
            .with_beta(-1.0)
            .validate()
            .is_err());
        assert!(TrainingConfig::new(ArchSpec::preset("A").unwrap())
            .with_beta(f64::NAN)
            .validate()
            .is_err());
    }

    /// A larger β buys a smaller KL (fewer nats through the latents) at the price of a worse
    /// true nELBO, on the same seed and data.
    #[test]
    fn a_larger_beta_trades_kl_for_reconstruction() {
        let split = toy_split(1000);
        let config = |beta: f64| {
            TrainingConfig::new(ArchSpec::new(vec![16]).with_latent(4))
                .with_epochs(4)
                .with_seed(3)
                .with_beta(beta)
        };
        let (_, plain) = run(config(1.0), &split);
        let (_, heavy) = run(config(8.0), &split);
        let (p, h) = (plain.last().unwrap().test, heavy.last().unwrap().test);
        assert!(
            h.kl < 0.5 * p.kl,
            "KL at beta 8 {} vs beta 1 {}",
            h.kl,
            p.kl
        );
        assert!(
            h.nelbo > p.nelbo,
            "nELBO at beta 8 {} vs beta 1 {}",
            h.nelbo,
            p.nelbo
        );
    }

    #[test]
    fn one_epoch_lowers_the_nelbo() {
        let split = toy_split(2000);
        let device = crate::cpu_device();
        let config = TrainingConfig::new(ArchSpec::preset("B").unwrap())
            .with_epochs(1)
            .with_seed(5);
        let before = Metrics::from_sums(
            &crate::read_f32(evaluate(
                &config.arch.init(&device, 5),
                &split.test,
                &device,
                1,
            ))
            .unwrap(),
        );
        let (t, hist) = run(config, &split);
        let after = Metrics::from_sums(
            &crate::read_f32(evaluate(&t.model(), &split.test, &device, 1)).unwrap(),
        );
        assert_eq!(hist.len(), 1);
        assert!(
            after.nelbo < before.nelbo - 20.0,
            "held-out nELBO {} -> {}",
            before.nelbo,
            after.nelbo
        );
        assert!((hist[0].train.nelbo - (hist[0].train.kl + hist[0].train.rec)).abs() < 1e-2);
    }

    /// The CPU's plain-Rust step and burn's autodiff train alike: same batches, same noise, the
    /// same weights after an epoch up to float rounding, and the same numbers. Switching engines
    /// midway keeps the weights and Adam's state.
    #[test]
    fn the_dense_step_and_burns_autodiff_train_alike() {
        let split = toy_split(640);
        let device = crate::cpu_device();
        let config = TrainingConfig::new(ArchSpec::preset("D").unwrap())
            .with_epochs(2)
            .with_seed(3)
            .with_beta(0.5)
            .with_kl_warmup(1);
        let mut dense = Trainer::new(config.clone(), None, &split, &device).unwrap();
        let mut burn = Trainer::new(config.clone(), None, &split, &device).unwrap();
        burn.use_burn().unwrap();
        assert_eq!(
            (dense.engine(), burn.engine()),
            (StepEngine::Dense, StepEngine::Burn)
        );
        let a = guarded_epoch(&mut dense).unwrap();
        let b = guarded_epoch(&mut burn).unwrap();
        for (x, y) in [
            (a.train.nelbo, b.train.nelbo),
            (a.test.nelbo, b.test.nelbo),
            (a.train.kl, b.train.kl),
        ] {
            assert!(
                (x - y).abs() < 1e-3 * y.abs().max(1.0),
                "{x} against burn's {y}"
            );
        }
        let pa = crate::read_f32(dense.model().flat_params()).unwrap();
        let pb = crate::read_f32(burn.model().flat_params()).unwrap();
        let worst = pa
            .iter()
            .zip(&pb)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(
            worst < 1e-3,
            "weights differ by up to {worst} after an epoch"
        );
        // the second epoch on burn from the dense run's state, against the dense run itself
        let mut switched = Trainer::resume(
            &dense.checkpoint(
                crate::read_f32(dense.checkpoint_tensor()).unwrap(),
                serde_json::Value::Null,
            ),
            &split,
            &device,
        )
        .unwrap();
        switched.use_burn().unwrap();
        let c = guarded_epoch(&mut switched).unwrap();
        let d = guarded_epoch(&mut dense).unwrap();
        assert!((c.train.nelbo - d.train.nelbo).abs() < 1e-3 * d.train.nelbo.abs());
    }

    #[test]
    fn seeded_training_is_reproducible() {
        let split = toy_split(300);
        let config = || {
            TrainingConfig::new(ArchSpec::new(vec![16]).with_latent(4))
                .with_epochs(2)
                .with_seed(9)
        };
        let (a, ha) = run(config(), &split);
        let (b, hb) = run(config(), &split);
        assert_eq!(ha, hb);
        let pa = crate::read_f32(a.model().flat_params()).unwrap();
        assert_eq!(pa, crate::read_f32(b.model().flat_params()).unwrap());
        let (c, _) = run(config().with_seed(10), &split);
        assert_ne!(pa, crate::read_f32(c.model().flat_params()).unwrap());
    }

    #[test]
    fn non_finite_epoch_rolls_back_and_reports() {
        let split = toy_split(120);
        let device = crate::cpu_device();
        let config = TrainingConfig::new(ArchSpec::preset("A").unwrap()).with_epochs(3);
        let mut t = Trainer::new(config, None, &split, &device).unwrap();
        let start = crate::read_f32(t.model().flat_params()).unwrap();
        while !t.step() {}
        let nan = Metrics {
            nelbo: f64::NAN,
            ..Default::default()
        };
        let err = t
            .finish_epoch(nan, Metrics::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("diverged") && err.contains("rolled back"),
            "{err}"
        );
        assert!(t.is_done());
        assert_eq!(crate::read_f32(t.model().flat_params()).unwrap(), start);
    }

    /// On the plain-Rust step a NaN weight that no input reaches (a pixel that is 0 in every
    /// digit) leaves the loss finite; the epoch's end checks the weights themselves and rolls
    /// back. Here the epoch's numbers are given as finite whatever the weights.
    #[test]
    fn a_nan_weight_the_loss_cannot_see_still_ends_the_run() {
        let split = toy_split(120);
        let device = crate::cpu_device();
        let config = TrainingConfig::new(ArchSpec::preset("B").unwrap()).with_epochs(3);
        let mut t = Trainer::new(config, None, &split, &device).unwrap();
        let start = crate::read_f32(t.model().flat_params()).unwrap();
        while !t.step() {}
        let Engine::Dense(step) = &mut t.engine else {
            panic!("the CPU steps in plain Rust")
        };
        let mut params = step.params().to_vec();
        params[7] = f32::NAN; // first layer, pixel 0 (a corner)
        step.set_params(&params);
        let fine = Metrics {
            nelbo: 100.0,
            kl: 10.0,
            rec: 90.0,
        };
        let err = t.finish_epoch(fine, fine).unwrap_err().to_string();
        assert!(err.contains("parameter 7 is not finite"), "{err}");
        assert_eq!(crate::read_f32(t.model().flat_params()).unwrap(), start);
    }

    /// Step until the epoch ends, checking every step's numbers as the app checks its chunks.
    fn guarded_epoch(t: &mut Trainer) -> Result<EpochRecord, VaeError> {
        loop {
            let end = t.step();
            let (sums, _) = t.take_chunk_sums();
            t.check(
                Metrics::from_sums(&crate::read_f32(sums).unwrap()),
                "the last step's",
            )?;
            if end {
                break;
            }
        }
        let train = Metrics::from_sums(&crate::read_f32(t.take_epoch_sums()).unwrap());
        let test = Metrics::from_sums(&crate::read_f32(t.evaluate_test()).unwrap());
        t.finish_epoch(train, test)
    }

    #[test]
    fn a_resumed_run_ends_exactly_like_an_uninterrupted_one() {
        let split = toy_split(300);
        let device = crate::cpu_device();
        let config = || {
            TrainingConfig::new(ArchSpec::new(vec![16]).with_latent(4))
                .with_epochs(3)
                .with_seed(4)
                .with_batch(32)
        };
        let (whole, history) = run(config(), &split);

        // one epoch, then a checkpoint through bytes, then the rest on a fresh trainer
        let mut first = Trainer::new(config(), None, &split, &device).unwrap();
        guarded_epoch(&mut first).unwrap();
        let floats = crate::read_f32(first.checkpoint_tensor()).unwrap();
        let bytes = first
            .checkpoint(floats, serde_json::json!({"slot": "run1"}))
            .to_bytes();
        drop(first);
        let ckpt = Checkpoint::from_bytes(&bytes, "ckpt").unwrap();
        assert_eq!(ckpt.header.extra["slot"], "run1");
        let mut resumed = Trainer::resume(&ckpt, &split, &device).unwrap();
        assert_eq!(resumed.epoch(), 1);
        while !resumed.is_done() {
            guarded_epoch(&mut resumed).unwrap();
        }
        assert_eq!(
            resumed.history, history,
            "each epoch exactly once, same numbers"
        );
        assert_eq!(
            crate::read_f32(resumed.model().flat_params()).unwrap(),
            crate::read_f32(whole.model().flat_params()).unwrap()
        );

        // a checkpoint refuses other data and damaged bytes
        let other = toy_split(200);
        let refused = Trainer::resume(&ckpt, &other, &device)
            .err()
            .expect("other data is refused")
            .to_string();
        assert!(refused.contains("digits"), "{refused}");
        let mut flipped = bytes.clone();
        let n = flipped.len();
        flipped[n - 20] ^= 1;
        assert!(Checkpoint::from_bytes(&flipped, "c")
            .unwrap_err()
            .to_string()
            .contains("checksum"));
        for cut in [0, 9, 15, n / 2, n - 1] {
            assert!(Checkpoint::from_bytes(&bytes[..cut], "c").is_err());
        }
    }

    #[test]
    fn a_diverging_run_stops_at_the_step_and_keeps_the_last_good_weights() {
        let split = toy_split(600);
        let device = crate::cpu_device();
        let config = TrainingConfig::new(ArchSpec::preset("B").unwrap())
            .with_epochs(5)
            .with_lr(0.5)
            .with_seed(1);
        let mut t = Trainer::new(config, None, &split, &device).unwrap();
        let start = crate::read_f32(t.model().flat_params()).unwrap();
        let err = loop {
            match guarded_epoch(&mut t) {
                Ok(_) => assert!(!t.is_done(), "lr 0.5 should not train cleanly"),
                Err(e) => break e.to_string(),
            }
        };
        assert!(
            err.contains("diverged in epoch")
                && err.contains("step")
                && err.contains("rolled back"),
            "{err}"
        );
        assert!(t.is_done());
        let kept = crate::read_f32(t.model().flat_params()).unwrap();
        if t.history.is_empty() {
            assert_eq!(kept, start);
        }
        assert!(kept.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let arch = || ArchSpec::preset("A").unwrap();
        for config in [
            TrainingConfig::new(arch()).with_epochs(0),
            TrainingConfig::new(arch()).with_epochs(crate::limits::MAX_EPOCHS + 1),
            TrainingConfig::new(arch()).with_batch(0),
            TrainingConfig::new(arch()).with_lr(f64::NAN),
            TrainingConfig::new(arch()).with_lr(1.5),
            TrainingConfig::new(arch()).with_limit(Some(0)),
            TrainingConfig::new(ArchSpec::new(vec![4096, 4096])),
        ] {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }
}
