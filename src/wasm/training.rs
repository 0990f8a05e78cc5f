//! Training from the page: start (or resume) a run, advance it a chunk at a time, hand out its
//! checkpoints, stop it. The worker calls `trainRun` in a loop and yields between calls.

use burn::prelude::*;
use js_sys::{Promise, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::boundary::{check_slot, from_js, invalid, to_js};
use super::{promise, Lab, Shared, Slot};
use crate::checkpoint::Checkpoint;
use crate::lab::{self, ChunkProgress, TrainOptions, TrainProgress};
use crate::read_f32_async;
use crate::training::{EpochRecord, Metrics, Trainer};
use crate::weights::{WeightsFile, WeightsMeta};
use crate::VaeError;

/// The run in progress.
pub(super) struct TrainRun {
    pub(super) slot: String,
    trainer: Trainer,
    /// The newest checkpoint (start of the run, then every epoch end) until the page takes it.
    checkpoint: Option<Vec<u8>>,
}

/// What a checkpoint carries for the page besides the trainer: the slot and its metadata.
#[derive(Serialize, Deserialize)]
struct RunExtra {
    slot: String,
    meta: WeightsMeta,
}

/// What `trainResume` says about the run it took up.
#[derive(Serialize)]
struct Resumed<'a> {
    slot: &'a str,
    epoch: usize,
    epochs: usize,
    history: &'a [EpochRecord],
}

/// What one chunk of steps left to do on the host: the readbacks, in order.
struct Chunk {
    sums: Tensor<1>,
    steps: usize,
    /// Squared gradient norms per parameter group of the chunk's step, when it was one step.
    grad_norms_sq: Option<Tensor<1>>,
    /// At an epoch end: the epoch's training sums and the held-out sums.
    epoch_end: Option<(Tensor<1>, Tensor<1>)>,
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

/// Up to `max_steps` steps of the run in `state`, stopping at an epoch end.
fn step_chunk(state: &Shared, max_steps: u32) -> Result<Chunk, JsValue> {
    let mut st = state.borrow_mut();
    let run = st
        .training
        .as_mut()
        .ok_or_else(|| invalid("no training run (call trainStart first)"))?;
    let mut epoch_end = None;
    // slow motion and "step" run one step per call: those report per-layer gradient norms
    run.trainer.track_grad_norms = max_steps == 1;
    if !run.trainer.is_done() {
        for _ in 0..max_steps.clamp(1, 10_000) {
            if run.trainer.step() {
                epoch_end = Some((run.trainer.take_epoch_sums(), run.trainer.evaluate_test()));
                break;
            }
        }
    }
    let (sums, steps) = run.trainer.take_chunk_sums();
    Ok(Chunk {
        sums,
        steps,
        grad_norms_sq: run.trainer.take_grad_norms_sq(),
        epoch_end,
    })
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

/// With the trainer of the run in `state`.
fn with_run<T>(state: &Shared, f: impl FnOnce(&mut TrainRun) -> T) -> Result<T, JsValue> {
    let mut st = state.borrow_mut();
    Ok(f(st.training.as_mut().ok_or_else(stopped)?))
}

/// At an epoch end or a rollback: the slot's host copy gets the run's weights, and (unless the run
/// failed) a checkpoint is made. One readback: parameters and Adam's moments together.
async fn settle(state: &Shared, record: Option<&EpochRecord>, failed: bool) -> Result<(), JsValue> {
    let (tensor, n) = with_run(state, |run| {
        (
            run.trainer.checkpoint_tensor(),
            run.trainer.config.arch.param_count(),
        )
    })?;
    let floats = read_f32_async(tensor).await?;
    let mut guard = state.borrow_mut();
    let st = &mut *guard;
    let run = st.training.as_mut().ok_or_else(stopped)?;
    let Some(s) = st.slots.get_mut(&run.slot) else {
        return Ok(());
    };
    if let Some(rec) = record {
        lab::record_epoch(&mut s.meta, rec, &run.trainer.history);
    }
    s.meta.sigma = lab::sigma(&floats[..n]);
    s.host = WeightsFile::new(
        run.trainer.config.arch.clone(),
        s.meta.clone(),
        floats[..n].to_vec(),
    )?;
    s.set_model(run.trainer.model());
    if !failed {
        let extra = run_extra(&run.slot, &s.meta)?;
        run.checkpoint = Some(run.trainer.checkpoint(floats, extra).to_bytes());
    }
    Ok(())
}

fn progress(
    state: &Shared,
    chunk: ChunkProgress,
    epoch_end: Option<EpochRecord>,
    error: Option<String>,
    grad_norms: Option<Vec<crate::lab::GradNorm>>,
) -> Result<JsValue, JsValue> {
    let st = state.borrow();
    let run = st.training.as_ref().ok_or_else(stopped)?;
    let t = &run.trainer;
    let images = (t.epoch() * t.train_len() + t.step_in_epoch() * t.config.batch)
        .min(t.config.epochs * t.train_len());
    to_js(&TrainProgress {
        slot: run.slot.clone(),
        epoch: t.epoch(),
        epochs: t.config.epochs,
        step: t.step_in_epoch(),
        steps_per_epoch: t.steps_per_epoch(),
        images,
        images_per_epoch: t.train_len(),
        done: t.is_done(),
        chunk,
        epoch_end,
        error,
        checkpoint: run.checkpoint.is_some(),
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
        let resume_from = if o.resume {
            Some(st.model(&slot)?)
        } else {
            None
        };
        let device = st.device.clone();
        let (meta, host) = match st.slots.get(&slot) {
            Some(s) if o.resume => (s.meta.clone(), s.host.clone()),
            _ => {
                let created_by = format!("VAE Lab web ({})", st.backend.name());
                let meta = lab::run_meta(&config, &st.dataset, created_by);
                // a fresh model's host copy, re-derived from the seed on the CPU (no readback)
                let arch = config.arch.clone();
                let params =
                    crate::read_f32(arch.init(&crate::cpu_device(), config.seed).flat_params())?;
                let host = WeightsFile::new(arch, meta.clone(), params)?;
                (meta, host)
            }
        };
        let mut trainer = Trainer::new(config, resume_from, &split, &device)?;
        if o.engine == Some(crate::training::StepEngine::Burn) {
            trainer.use_burn()?;
        }
        let extra = run_extra(&slot, &meta)?;
        let checkpoint = trainer.checkpoint(host.params.clone(), extra).to_bytes();
        st.slots
            .insert(slot.clone(), Slot::new(trainer.model(), meta, host));
        st.training = Some(TrainRun {
            slot,
            trainer,
            checkpoint: Some(checkpoint),
        });
        Ok(())
    }

    /// Continue a run from a checkpoint made by `takeCheckpoint` (same digits). Returns
    /// `{slot, epoch, epochs, history}`; then call `trainRun` as for a new run. `expected_slot`:
    /// the name the page stored the checkpoint under; a checkpoint made for another slot is
    /// refused (it would train a slot other than the one the page resumes).
    #[wasm_bindgen(js_name = trainResume)]
    pub fn train_resume(
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
        let trainer = Trainer::resume(&ckpt, &split, &device)?;
        let arch = ckpt.header.config.arch.clone();
        let params = ckpt.floats[..arch.param_count()].to_vec();
        let host = WeightsFile::new(arch, extra.meta.clone(), params)?;
        let out = to_js(&Resumed {
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
            trainer,
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
            let chunk = step_chunk(&state, max_steps)?;
            let m = Metrics::from_sums(&read_f32_async(chunk.sums).await?);
            let grad_norms = match chunk.grad_norms_sq {
                Some(sq) => {
                    let sq = read_f32_async(sq).await?;
                    let names = with_run(&state, |run| run.trainer.config.arch.layer_names())?;
                    Some(
                        names
                            .into_iter()
                            .zip(sq)
                            .map(|(layer, s)| crate::lab::GradNorm {
                                layer,
                                norm: (s as f64).sqrt(),
                            })
                            .collect(),
                    )
                }
                None => None,
            };
            let checked = if chunk.steps > 0 {
                with_run(&state, |run| run.trainer.check(m, "the last chunk's"))?
            } else {
                with_run(&state, |_| Ok(()))?
            };
            let finished: Result<Option<EpochRecord>, VaeError> = match (checked, chunk.epoch_end) {
                (Err(e), _) => Err(e),
                (Ok(()), Some((train, test))) => {
                    let train = Metrics::from_sums(&read_f32_async(train).await?);
                    let test = Metrics::from_sums(&read_f32_async(test).await?);
                    with_run(&state, |run| {
                        run.trainer.finish_epoch(train, test).map(Some)
                    })?
                }
                (Ok(()), None) => Ok(None),
            };
            let (record, error) = match finished {
                Ok(record) => (record, None),
                Err(e) => (None, Some(e.to_string())),
            };
            if record.is_some() || error.is_some() {
                settle(&state, record.as_ref(), error.is_some()).await?;
            } else {
                // within an epoch the slot follows the training weights (no readback)
                let mut guard = state.borrow_mut();
                let st = &mut *guard;
                if let (Some(run), slots) = (st.training.as_ref(), &mut st.slots) {
                    if let Some(s) = slots.get_mut(&run.slot) {
                        s.set_model(run.trainer.model());
                    }
                }
            }
            let chunk = ChunkProgress {
                steps: chunk.steps,
                nelbo: m.nelbo,
                kl: m.kl,
                rec: m.rec,
            };
            progress(&state, chunk, record, error, grad_norms)
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
            let mut trainer = Trainer::new(config, None, &split, &device)?;
            let mut run = async |k: u32| -> Result<f64, JsValue> {
                let t = now_ms();
                for _ in 0..k {
                    trainer.step();
                }
                read_f32_async(trainer.take_chunk_sums().0).await?;
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
