//! Training from the page: start a run (or restore one from its checkpoint), advance it a chunk
//! at a time, hand out its checkpoints, stop it. The worker calls `trainRun` in a loop and yields
//! between calls; the loop's body is the core's [`Trainer::run_chunk`], this file translates.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;

use super::boundary::{check_slot, from_js, invalid, now_ms, to_js};
use super::state::{promise, Lab, Slot, TrainRun};
use crate::checkpoint::Checkpoint;
use crate::lab::{self, Restored, RunExtra, TrainOptions, TrainProgress};
use crate::training::{self, Start, StepEngine, Trainer};
use crate::weights::WeightsFile;

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
        let (mut weights, start) = if o.warm_start {
            // from the slot's current weights, wherever they are (no readback)
            let start = Start::from(&*st.runner(&slot)?);
            (st.slot(&slot)?.weights.clone(), start)
        } else {
            // fresh weights from the seed, drawn once: the slot's file and the run's start
            let created_by = format!("VAE Lab web ({})", st.backend.name());
            let meta = lab::run_meta(&config, &st.dataset, created_by);
            let params = config.arch.init_params(config.seed);
            let file = WeightsFile::new(config.arch.clone(), meta, params.clone())?;
            (file, Start::Params(params))
        };
        let mut trainer = Trainer::new(config, start, &split, &st.device)?;
        if o.engine == Some(StepEngine::Burn) {
            trainer.use_burn()?;
        }
        // the settings make the same bits again only for a fresh run on the plain-Rust step
        let again = !o.warm_start && trainer.engine() == StepEngine::Dense;
        weights.meta.recipe = again.then(|| trainer.config.clone());
        let extra = RunExtra::json(&slot, &weights.meta)?;
        let checkpoint = Some(trainer.checkpoint(weights.params.clone(), extra).to_bytes());
        let runner = Some(trainer.runner()?);
        st.slots.insert(slot.clone(), Slot::new(weights, runner));
        let trainer = Some(trainer);
        st.training = Some(TrainRun {
            slot,
            trainer,
            checkpoint,
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
        let RunExtra { slot, meta } = RunExtra::of(&ckpt)?;
        check_slot(&slot)?;
        if let Some(expected) = expected_slot.filter(|s| *s != slot) {
            return Err(invalid(format!(
                "the checkpoint stored as '{expected}' was made for the run '{slot}': refused"
            )));
        }
        let mut st = self.state.borrow_mut();
        let split = st.data(true)?.clone();
        let trainer = Trainer::restore(&ckpt, &split, &st.device)?;
        let arch = ckpt.header.config.arch.clone();
        let params = ckpt.floats[..arch.param_count()].to_vec();
        let weights = WeightsFile::new(arch, meta, params)?;
        let out = to_js(&Restored::new(&slot, &trainer))?;
        let runner = Some(trainer.runner()?);
        st.slots.insert(slot.clone(), Slot::new(weights, runner));
        let (trainer, checkpoint) = (Some(trainer), None);
        st.training = Some(TrainRun {
            slot,
            trainer,
            checkpoint,
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
                let run = (st.training.as_mut())
                    .ok_or_else(|| invalid("no training run (call trainStart first)"))?;
                (run.trainer.take())
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
                _ => return Err(invalid("training was stopped")),
            };
            let t = run.trainer.insert(trainer);
            let report = report?;
            // the slot follows the run's weights; at an epoch end (or a rollback) its file and
            // metadata too, and a checkpoint is made unless the run failed
            if let Some(s) = st.slots.get_mut(&run.slot) {
                if let Some(weights) = lab::settled_weights(&s.weights.meta, t, &report)? {
                    s.weights = weights;
                    if let (None, Some(floats)) = (&report.error, &report.settled) {
                        let extra = RunExtra::json(&run.slot, &s.weights.meta)?;
                        run.checkpoint = Some(t.checkpoint(floats.clone(), extra).to_bytes());
                    }
                }
                s.runner = Some(t.runner()?.into());
            }
            to_js(&TrainProgress::new(
                &run.slot,
                run.checkpoint.is_some(),
                t,
                report,
            ))
        })
    }

    /// Time training on this Lab's backend, for choosing one (`training::probe`): a throwaway
    /// model of `arch` (a preset) on synthetic digits. Touches no slot, run or data. Returns
    /// `{ms_per_step, warmup_ms}`.
    #[wasm_bindgen(js_name = trainProbe)]
    pub fn train_probe(&self, arch: String, warmup: u32, steps: u32) -> Promise {
        promise(&self.state, |state| async move {
            let spec = crate::model::ArchSpec::preset(&arch)?;
            let (warmup, steps) = (warmup.clamp(1, 50) as usize, steps.clamp(1, 200) as usize);
            let device = state.borrow().device.clone();
            to_js(&training::probe(spec, warmup, steps, &device, now_ms).await?)
        })
    }

    /// End the run; the weights trained so far stay in the slot.
    #[wasm_bindgen(js_name = trainStop)]
    pub fn train_stop(&self) {
        self.state.borrow_mut().training = None;
    }
}
