//! Training by Adam on the negative ELBO, a chunk of steps at a time.
//!
//! [`Trainer::run_chunk`] is the loop's body, the same for every caller: the CLI blocks on it
//! ([`crate::device::block_on`]), the browser worker awaits it between turns of its event loop, the tests
//! call it step by step. A chunk takes up to `max_steps` steps, stops at an epoch's end, checks
//! its numbers against divergence, finishes the epoch (held-out estimate, history) and, at an
//! epoch end or a rollback, reads back what a checkpoint holds. Losses stay where the engine
//! computes them (on the host for the plain-Rust step, on the device for burn's) and are read
//! back once per chunk.

mod engine;

use burn::prelude::*;

pub use crate::analysis::evaluate;
use crate::checkpoint::{Checkpoint, CheckpointHeader};
pub use crate::config::HELD_OUT_SEED;
pub use crate::config::{EpochRecord, Metrics, StepEngine, TrainingConfig};
use crate::data::{Digits, Split};
use crate::error::VaeError;
use crate::limits::DIVERGENCE_NATS;
use crate::model::Vae;
use crate::rng::Rng;
use crate::runner::Runner;
pub use engine::Start;
use engine::{Batch, Engine, Floats};

/// What one [`Trainer::run_chunk`] did.
#[derive(Debug)]
pub struct ChunkReport {
    /// Steps taken (0 once the run is done).
    pub steps: usize,
    /// The chunk's per-image averages (zero without steps).
    pub metrics: Metrics,
    /// The epoch this chunk finished, with its held-out numbers.
    pub epoch_end: Option<EpochRecord>,
    /// The run diverged: its weights are rolled back to the last good epoch and it is over.
    pub error: Option<VaeError>,
    /// Per parameter group ([`ArchSpec::layer_names`]), the gradient's L2 norm of the chunk's last
    /// step, when [`Trainer::track_grad_norms`] is on.
    pub grad_norms: Option<Vec<f64>>,
    /// At an epoch end or a rollback: the parameters, then Adam's moments, read back in one go
    /// (what [`Trainer::checkpoint`] takes).
    pub settled: Option<Vec<f32>>,
}

/// Training in progress: call [`Trainer::run_chunk`] until [`Trainer::is_done`].
pub struct Trainer {
    pub config: TrainingConfig,
    engine: Engine,
    train: Digits,
    test: Digits,
    device: Device,
    train_device: Device,
    shuffle_rng: Rng,
    noise_rng: Rng,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    epoch_sums: Floats,
    chunk_sums: Floats,
    chunk_steps: usize,
    /// Lowest nELBO seen (chunks and epochs), the reference for the divergence guard.
    best: f64,
    pub history: Vec<EpochRecord>,
    /// Keep each step's per-layer gradient norms (slow motion shows them; off at full speed).
    pub track_grad_norms: bool,
    /// Squared gradient norm per parameter group of the last tracked step.
    grad_norms_sq: Option<Floats>,
    /// What the divergence guard calls a chunk's numbers, given its steps (the CLI and the page
    /// word it differently).
    pub chunk_label: fn(usize) -> String,
}

impl Trainer {
    /// A run of `config` from `start` on `split`'s digits (the first `limit` training ones),
    /// stepping in plain Rust on the CPU and through burn elsewhere.
    pub fn new(
        config: TrainingConfig,
        start: Start,
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
        if let Start::Model(m) = &start {
            if m.arch() != config.arch {
                return Err(VaeError::Invalid(format!(
                    "cannot resume: the model is {} but the run asks for {}",
                    m.arch().label(),
                    config.arch.label()
                )));
            }
        }
        let train_device = device.clone().autodiff();
        let engine = Engine::new(&config, start, device, &train_device)?;
        let mut root = Rng::new(config.seed.wrapping_add(0x7261_696e));
        Ok(Self {
            engine,
            order: (0..train.len()).collect(),
            shuffle_rng: root.fork(),
            noise_rng: root.fork(),
            cursor: 0,
            epoch: 0,
            epoch_sums: Floats::zeros(),
            chunk_sums: Floats::zeros(),
            chunk_steps: 0,
            track_grad_norms: false,
            grad_norms_sq: None,
            best: f64::INFINITY,
            history: Vec::new(),
            test: split.test.clone(),
            train,
            device: device.clone(),
            train_device,
            chunk_label: |_| "the last chunk's".to_string(),
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

    /// Images seen so far in the run (for progress and rates).
    pub fn images(&self) -> usize {
        (self.epoch * self.train_len() + self.step_in_epoch() * self.config.batch)
            .min(self.config.epochs * self.train_len())
    }

    /// Up to `max_steps` steps (at least 1, at most 10,000), stopping at an epoch's end; then the
    /// divergence guard on the chunk's numbers and, at the epoch's end, the held-out estimate and
    /// the history. Nothing is read back inside a step; awaiting this reads back the chunk's sums
    /// (and, at an epoch end or a rollback, the run's state) once. Natively, [`crate::device::block_on`] it.
    pub async fn run_chunk(&mut self, max_steps: usize) -> Result<ChunkReport, VaeError> {
        let mut epoch_end = None;
        if !self.is_done() {
            for _ in 0..max_steps.clamp(1, 10_000) {
                if self.step() {
                    let train = std::mem::replace(&mut self.epoch_sums, Floats::zeros());
                    epoch_end = Some((train, self.evaluate_test()));
                    break;
                }
            }
        }
        let steps = std::mem::take(&mut self.chunk_steps);
        let sums = std::mem::replace(&mut self.chunk_sums, Floats::zeros());
        let metrics = Metrics::from_sums(&sums.read().await?);
        let grad_norms = match self.grad_norms_sq.take() {
            Some(sq) => Some(
                sq.read()
                    .await?
                    .iter()
                    .map(|s| (*s as f64).sqrt())
                    .collect(),
            ),
            None => None,
        };
        let checked = match steps {
            0 => Ok(()),
            n => self.check(metrics, &(self.chunk_label)(n)),
        };
        let finished = match (checked, epoch_end) {
            (Err(e), _) => Err(e),
            (Ok(()), Some((train, test))) => {
                let train = Metrics::from_sums(&train.read().await?);
                let test = Metrics::from_sums(&test.read().await?);
                self.finish_epoch(train, test).map(Some)
            }
            (Ok(()), None) => Ok(None),
        };
        let (epoch_end, error) = match finished {
            Ok(record) => (record, None),
            Err(e) => (None, Some(e)),
        };
        let settled = if epoch_end.is_some() || error.is_some() {
            Some(self.engine.state().read().await?)
        } else {
            None
        };
        Ok(ChunkReport {
            steps,
            metrics,
            epoch_end,
            error,
            grad_norms,
            settled,
        })
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
        let weight = self.kl_weight();
        let (sums, grad_norms_sq) = self.engine.step(Batch {
            digits: &self.train,
            idx,
            noise: &mut self.noise_rng,
            train_device: &self.train_device,
            kl_weight: weight,
            lr: self.config.lr,
            track_grad_norms: self.track_grad_norms,
        });
        if grad_norms_sq.is_some() {
            self.grad_norms_sq = grad_norms_sq;
        }
        let epoch_sums = std::mem::replace(&mut self.epoch_sums, Floats::zeros());
        let chunk_sums = std::mem::replace(&mut self.chunk_sums, Floats::zeros());
        self.epoch_sums = epoch_sums.add(sums.clone());
        self.chunk_sums = chunk_sums.add(sums);
        self.chunk_steps += 1;
        self.cursor = end;
        end == self.order.len()
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

    /// The steps since the last chunk, read back (the GPU's work finished): their per-image
    /// averages and how many there were. For timing steps outside [`Trainer::run_chunk`].
    pub async fn take_chunk_metrics(&mut self) -> Result<(Metrics, usize), VaeError> {
        let sums = std::mem::replace(&mut self.chunk_sums, Floats::zeros());
        let steps = std::mem::take(&mut self.chunk_steps);
        Ok((Metrics::from_sums(&sums.read().await?), steps))
    }

    /// Held-out sums for the current weights.
    fn evaluate_test(&self) -> Floats {
        self.engine
            .evaluate(&self.config.arch, &self.test, &self.device)
    }

    /// Which engine takes the steps.
    pub fn engine(&self) -> StepEngine {
        self.engine.kind()
    }

    /// Step through burn's autodiff from here on, even on the CPU (to reproduce weights trained
    /// before [`DenseStep`], and to compare the engines). Keeps the weights and Adam's state.
    pub fn use_burn(&mut self) -> Result<(), VaeError> {
        self.engine
            .use_burn(&self.config.arch, &self.device, &self.train_device)
    }

    /// Record an epoch whose numbers were read back. A diverged epoch (see [`Trainer::check`])
    /// rolls the weights back to the last good epoch and ends the run with an error that says so.
    pub fn finish_epoch(&mut self, train: Metrics, test: Metrics) -> Result<EpochRecord, VaeError> {
        self.cursor = 0;
        self.check(train, "the epoch's mean")?;
        if !test.is_finite() {
            return Err(self.diverged("the held-out nELBO is not finite".into()));
        }
        if let Err(why) = self.engine.keep_good() {
            return Err(self.diverged(why));
        }
        self.epoch += 1;
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
        self.engine.roll_back(&self.train_device);
        self.epoch = self.config.epochs;
        self.cursor = 0;
        VaeError::Diverged(format!(
            "training diverged in epoch {epoch}, step {step}: {why}; weights rolled back to the end of epoch {}",
            epoch - 1
        ))
    }

    /// What a checkpoint holds besides its header, read back in one go: the parameters, then
    /// Adam's moments. Take it at an epoch end or before the first step ([`ChunkReport::settled`]
    /// is this at every epoch end).
    pub async fn state_floats(&self) -> Result<Vec<f32>, VaeError> {
        self.engine.state().read().await
    }

    /// The checkpoint, from the floats of [`Trainer::state_floats`]; `extra` comes back on
    /// restore untouched.
    pub fn checkpoint(&self, floats: Vec<f32>, extra: serde_json::Value) -> Checkpoint {
        Checkpoint {
            header: CheckpointHeader {
                format: 1,
                config: self.config.clone(),
                epoch: self.epoch as u64,
                history: self.history.clone(),
                best: self.best.is_finite().then_some(self.best),
                adam_time: self.engine.adam_time() as u64,
                shuffle_rng: self.shuffle_rng.clone(),
                noise_rng: self.noise_rng.clone(),
                order: self.order.iter().map(|&i| i as u32).collect(),
                extra,
            },
            floats,
        }
    }

    /// Restore a run from its checkpoint, on the same digits (`split`) it was trained on; it
    /// continues as if never interrupted.
    pub fn restore(
        checkpoint: &Checkpoint,
        split: &Split,
        device: &Device,
    ) -> Result<Self, VaeError> {
        let h = &checkpoint.header;
        let arch = &h.config.arch;
        let n = arch.param_count();
        let params = checkpoint.floats[..n.min(checkpoint.floats.len())].to_vec();
        let mut t = Trainer::new(h.config.clone(), Start::Params(params), split, device)?;
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
        t.engine.restore_adam(time, state, arch, device)?;
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

    /// The current weights ready for inference where they are (no readback): what the page's
    /// slot follows while the run trains.
    pub fn runner(&self) -> Result<Runner, VaeError> {
        self.engine.runner(&self.config.arch, &self.device)
    }

    /// The current weights as an inference model on the plain device.
    pub fn model(&self) -> Vae {
        self.engine.model(&self.config.arch, &self.device)
    }
}

/// What [`probe`] measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Probe {
    pub ms_per_step: f64,
    pub warmup_ms: f64,
}

/// Time training on `device`, for choosing a backend: a throwaway model of `arch` on synthetic
/// digits, `warmup` steps (pipeline compilation on a GPU), then `steps` timed ones, each chunk
/// read back so a GPU's work counts. `now` is the caller's clock in ms (the browser's
/// `performance.now`).
pub async fn probe(
    arch: crate::config::ArchSpec,
    warmup: usize,
    steps: usize,
    device: &Device,
    now: impl Fn() -> f64,
) -> Result<Probe, VaeError> {
    let digits = Digits::random(64 * 4, 7);
    let split = Split {
        test: digits.head(64),
        train: digits,
    };
    let config = TrainingConfig::new(arch).with_epochs(crate::limits::MAX_EPOCHS);
    let mut trainer = Trainer::new(config, Start::Seed, &split, device)?;
    let mut run = async |k: usize| -> Result<f64, VaeError> {
        let t = now();
        for _ in 0..k {
            trainer.step();
        }
        trainer.take_chunk_metrics().await?;
        Ok(now() - t)
    };
    let warmup_ms = run(warmup.max(1)).await?;
    let ms = run(steps.max(1)).await?;
    let ms_per_step = ms / steps.max(1) as f64;
    Ok(Probe {
        ms_per_step,
        warmup_ms,
    })
}

#[cfg(test)]
mod tests;
