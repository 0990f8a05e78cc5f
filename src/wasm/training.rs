//! Training from the page: start a run (or restore one from its checkpoint), advance it a chunk
//! at a time, hand out its checkpoints, stop it. The worker calls `trainRun` in a loop and yields
//! between calls; the loop's body is the core's [`Trainer::run_chunk`], this file translates.

use js_sys::{Promise, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::boundary::{check_slot, from_js, invalid, to_js};
use super::{promise, Lab, Slot};
use crate::checkpoint::Checkpoint;
use crate::error::VaeError;
use crate::lab::{self, ChunkProgress, GradNorm, TrainOptions, TrainProgress};
use crate::training::{ChunkReport, EpochRecord, Start, Trainer};
use crate::weights::{WeightsFile, WeightsMeta};

/// The run in progress.
pub(super) struct TrainRun {
    pub(super) slot: String,
    /// Taken out while a chunk runs: the chunk is awaited with no borrow of the Lab's state held.
    trainer: Option<Trainer>,
    /// The newest checkpoint (start of the run, then every epoch end) until the page takes it.
    checkpoint: Option<Vec<u8>>,
}

/// What a checkpoint carries for the page besides the trainer: the slot and its metadata.
#[derive(Serialize, Deserialize)]
struct RunExtra {
    slot: String,
    meta: WeightsMeta,
}

/// What `trainRestore` says about the run it took up.
#[derive(Serialize)]
struct Restored<'a> {
    slot: &'a str,
    epoch: usize,
    epochs: usize,
    history: &'a [EpochRecord],
}

/// The page's part of a checkpoint (`Checkpoint::header.extra`).
fn run_extra(slot: &str, meta: &WeightsMeta) -> Result<serde_json::Value, JsValue> {
    serde_json::to_value(RunExtra {
        slot: slot.to_string(),
        meta: meta.clone(),
    })
    .map_err(|e| invalid(format!("checkpoint metadata: {e}")))
}

fn stopped() -> JsValue {
    invalid("training was stopped")
}

/// `performance.now()` of the page or worker, in ms.
fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| {
            let now = js_sys::Reflect::get(&p, &"now".into()).ok()?;
            now.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&p)
                .ok()?
                .as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

/// The page's progress report of a chunk of the run into `slot`.
fn progress(
    slot: &str,
    checkpoint: bool,
    t: &Trainer,
    report: ChunkReport,
) -> Result<JsValue, JsValue> {
    let grad_norms = report.grad_norms.map(|norms| {
        let names = t.config.arch.layer_names();
        names
            .into_iter()
            .zip(norms)
            .map(|(layer, norm)| GradNorm { layer, norm })
            .collect()
    });
    to_js(&TrainProgress {
        slot: slot.to_string(),
        epoch: t.epoch(),
        epochs: t.config.epochs,
        step: t.step_in_epoch(),
        steps_per_epoch: t.steps_per_epoch(),
        images: t.images(),
        images_per_epoch: t.train_len(),
        done: t.is_done(),
        chunk: ChunkProgress {
            steps: report.steps,
            nelbo: report.metrics.nelbo,
            kl: report.metrics.kl,
            rec: report.metrics.rec,
        },
        epoch_end: report.epoch_end,
        error: report.error.map(|e| e.to_string()),
        checkpoint,
        kl_weight: t.kl_weight(),
        grad_norms,
    })
}

#[wasm_bindgen]
impl Lab {
    /// Start training into `slot`; `options` is a `lab::TrainOptions` object ({arch} or {hidden,
    /// latent}, epochs, lr, batch, seed, limit, resume). The run's first checkpoint (epoch 0) is
    /// ready at once (`takeCheckpoint`).
    #[wasm_bindgen(js_name = trainStart)]
    pub fn train_start(&self, slot: String, options: JsValue) -> Result<(), JsValue> {
        check_slot(&slot)?;
        let o: TrainOptions = from_js(options, "training options")?;
        let config = o.config()?;
        let mut st = self.state.borrow_mut();
        let split = st.data(true)?.clone();
        let device = st.device.clone();
        let (meta, host, start) = if o.warm_start {
            // from the slot's current weights, wherever they are (no readback)
            let model = st.model(&slot)?;
            let s = st.slot(&slot)?;
            (s.meta.clone(), s.host.clone(), Start::Model(model))
        } else {
            // fresh weights from the seed, drawn once: the slot's host copy and the run's start
            let created_by = format!("VAE Lab web ({})", st.backend.name());
            let meta = lab::run_meta(&config, &st.dataset, created_by);
            let params = config.arch.init_params(config.seed);
            let host = WeightsFile::new(config.arch.clone(), meta.clone(), params.clone())?;
            (meta, host, Start::Params(params))
        };
        let mut trainer = Trainer::new(config, start, &split, &device)?;
        if o.engine == Some(crate::training::StepEngine::Burn) {
            trainer.use_burn()?;
        }
        let extra = run_extra(&slot, &meta)?;
        let checkpoint = trainer.checkpoint(host.params.clone(), extra).to_bytes();
        st.slots
            .insert(slot.clone(), Slot::new(trainer.model(), meta, host));
        st.training = Some(TrainRun {
            slot,
            trainer: Some(trainer),
            checkpoint: Some(checkpoint),
        });
        Ok(())
    }

    /// Continue a run from a checkpoint made by `takeCheckpoint` (same digits). Returns
    /// `{slot, epoch, epochs, history}`; then call `trainRun` as for a new run. `expected_slot`:
    /// the name the page stored the checkpoint under; a checkpoint made for another slot is
    /// refused (it would train a slot other than the one the page resumes).
    #[wasm_bindgen(js_name = trainRestore)]
    pub fn train_restore(
        &self,
        bytes: &[u8],
        expected_slot: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let ckpt = Checkpoint::from_bytes(bytes, "the saved run")?;
        let extra: RunExtra = serde_json::from_value(ckpt.header.extra.clone())
            .map_err(|e| VaeError::Invalid(format!("the saved run has no slot: {e}")))?;
        check_slot(&extra.slot)?;
        if let Some(expected) = expected_slot.filter(|s| *s != extra.slot) {
            return Err(invalid(format!(
                "the checkpoint stored as '{expected}' was made for the run '{}': refused",
                extra.slot
            )));
        }
        let mut st = self.state.borrow_mut();
        let split = st.data(true)?.clone();
        let device = st.device.clone();
        let trainer = Trainer::restore(&ckpt, &split, &device)?;
        let arch = ckpt.header.config.arch.clone();
        let params = ckpt.floats[..arch.param_count()].to_vec();
        let host = WeightsFile::new(arch, extra.meta.clone(), params)?;
        let out = to_js(&Restored {
            slot: &extra.slot,
            epoch: trainer.epoch(),
            epochs: trainer.config.epochs,
            history: &trainer.history,
        })?;
        st.slots.insert(
            extra.slot.clone(),
            Slot::new(trainer.model(), extra.meta, host),
        );
        st.training = Some(TrainRun {
            slot: extra.slot,
            trainer: Some(trainer),
            checkpoint: None,
        });
        Ok(out)
    }

    /// The run's newest checkpoint, once (undefined when there is no new one).
    #[wasm_bindgen(js_name = takeCheckpoint)]
    pub fn take_checkpoint(&self) -> Option<Uint8Array> {
        let mut st = self.state.borrow_mut();
        let bytes = st.training.as_mut()?.checkpoint.take()?;
        Some(Uint8Array::from(bytes.as_slice()))
    }

    /// Run up to `max_steps` steps (stopping at an epoch end). Returns a `lab::TrainProgress`.
    /// Every chunk passes the divergence guard: a blow-up ends the run within one chunk.
    #[wasm_bindgen(js_name = trainRun)]
    pub fn train_run(&self, max_steps: u32) -> Promise {
        promise(&self.state, |state| async move {
            let mut trainer = {
                let mut st = state.borrow_mut();
                let run = st
                    .training
                    .as_mut()
                    .ok_or_else(|| invalid("no training run (call trainStart first)"))?;
                run.trainer
                    .take()
                    .ok_or_else(|| invalid("a chunk of this run is still running"))?
            };
            // slow motion and "step" run one step per call: those report per-layer gradient norms
            trainer.track_grad_norms = max_steps == 1;
            let report = trainer.run_chunk(max_steps as usize).await;
            let mut guard = state.borrow_mut();
            let st = &mut *guard;
            // stopped, or replaced by another run, while the chunk ran
            let run = match st.training.as_mut() {
                Some(run) if run.trainer.is_none() => run,
                _ => return Err(stopped()),
            };
            let t = run.trainer.insert(trainer);
            let report = report?;
            // the slot follows the run's weights; at an epoch end (or a rollback) its host copy
            // and metadata too, and a checkpoint is made unless the run failed
            if let Some(s) = st.slots.get_mut(&run.slot) {
                if let Some(floats) = &report.settled {
                    let n = t.config.arch.param_count();
                    if let Some(rec) = &report.epoch_end {
                        lab::record_epoch(&mut s.meta, rec, &t.history);
                    }
                    s.meta.sigma = lab::sigma(&floats[..n]);
                    s.host = WeightsFile::new(
                        t.config.arch.clone(),
                        s.meta.clone(),
                        floats[..n].to_vec(),
                    )?;
                    if report.error.is_none() {
                        let extra = run_extra(&run.slot, &s.meta)?;
                        run.checkpoint = Some(t.checkpoint(floats.clone(), extra).to_bytes());
                    }
                }
                s.set_model(t.model());
            }
            progress(&run.slot, run.checkpoint.is_some(), t, report)
        })
    }

    /// Time training on this Lab's backend, for choosing one: a throwaway model of `arch` (a
    /// preset) on synthetic digits, `warmup` steps (pipeline compilation on a GPU), then `steps`
    /// timed steps, each chunk read back so the GPU's work is counted. Touches no slot, run or
    /// data. Returns `{ms_per_step, warmup_ms}`.
    #[wasm_bindgen(js_name = trainProbe)]
    pub fn train_probe(&self, arch: String, warmup: u32, steps: u32) -> Promise {
        promise(&self.state, |state| async move {
            let spec = crate::model::ArchSpec::preset(&arch)?;
            let (warmup, steps) = (warmup.clamp(1, 50), steps.clamp(1, 200));
            let digits = crate::data::Digits::random(64 * 4, 7);
            let split = crate::data::Split {
                test: digits.head(64),
                train: digits,
            };
            let device = state.borrow().device.clone();
            let config =
                crate::training::TrainingConfig::new(spec).with_epochs(crate::limits::MAX_EPOCHS);
            let mut trainer = Trainer::new(config, Start::Seed, &split, &device)?;
            let mut run = async |k: u32| -> Result<f64, JsValue> {
                let t = now_ms();
                for _ in 0..k {
                    trainer.step();
                }
                trainer.take_chunk_metrics().await?;
                Ok(now_ms() - t)
            };
            let warmup_ms = run(warmup).await?;
            let ms = run(steps).await?;
            #[derive(Serialize)]
            struct Probe {
                ms_per_step: f64,
                warmup_ms: f64,
            }
            to_js(&Probe {
                ms_per_step: ms / steps as f64,
                warmup_ms,
            })
        })
    }

    /// End the run; the weights trained so far stay in the slot.
    #[wasm_bindgen(js_name = trainStop)]
    pub fn train_stop(&self) {
        self.state.borrow_mut().training = None;
    }
}
