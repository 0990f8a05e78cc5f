//! What a `Lab` holds: the device, the digits, named model slots and at most one training run.
//! A slot is one weights file and a [`Runner`] built from it on first use; while a run trains
//! into the slot, the run hands the slot its runner after every chunk (no readback), and its file
//! is refreshed at every epoch end, export and backend switch.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use burn::prelude::*;
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::boundary::invalid;
use crate::data::Split;
use crate::device::Backend;
use crate::runner::Runner;
use crate::training::Trainer;
use crate::weights::WeightsFile;

/// The Lab: model slots, digit data and at most one training run, on WebGPU or the CPU.
#[wasm_bindgen]
pub struct Lab {
    pub(super) state: Shared,
}

pub(super) type Shared = Rc<RefCell<State>>;

pub(super) struct Slot {
    /// As loaded, or as of the last epoch end, export or backend switch; its `meta` is the
    /// slot's. When `runner` is set, the runner's weights are the current ones.
    pub weights: WeightsFile,
    pub runner: Option<Rc<Runner>>,
}

impl Slot {
    pub fn new(weights: WeightsFile, runner: Option<Runner>) -> Self {
        let runner = runner.map(Rc::new);
        Slot { weights, runner }
    }
}

/// The run in progress.
pub(super) struct TrainRun {
    pub slot: String,
    /// Taken out while a chunk runs: the chunk is awaited with no borrow of the Lab's state held.
    pub trainer: Option<Trainer>,
    /// The newest checkpoint (start of the run, then every epoch end) until the page takes it.
    pub checkpoint: Option<Vec<u8>>,
}

pub(super) struct State {
    pub device: Device,
    pub backend: Backend,
    /// Set once WebGPU was opened; reused on later switches (burn's runtime starts once).
    pub gpu_device: Option<Device>,
    pub fallback_reason: Option<String>,
    /// The digits fetched so far: the page sends the held-out and the training part each when a
    /// panel first needs it, so either may still be empty.
    pub data: Split,
    /// What a run's weights file says it was trained on (`clearData` names the dataset).
    pub dataset: String,
    pub slots: BTreeMap<String, Slot>,
    pub training: Option<TrainRun>,
}

impl State {
    pub fn slot(&self, name: &str) -> Result<&Slot, JsValue> {
        self.slots.get(name).ok_or_else(|| {
            let have: Vec<&String> = self.slots.keys().collect();
            invalid(format!("no model in slot '{name}' (loaded: {have:?})"))
        })
    }

    /// The digits, once the held-out part (and, with `train`, the training part) is loaded.
    pub fn data(&self, train: bool) -> Result<&Split, JsValue> {
        if self.data.test.is_empty() || (train && self.data.train.is_empty()) {
            let part = if train {
                "training and held-out"
            } else {
                "held-out"
            };
            return Err(invalid(format!("no {part} digits loaded yet (setData)")));
        }
        Ok(&self.data)
    }

    /// The slot's runner, built from its weights file on first use.
    pub fn runner(&mut self, name: &str) -> Result<Rc<Runner>, JsValue> {
        self.slot(name)?;
        let device = self.device.clone();
        let slot = self.slots.get_mut(name).expect("checked above");
        if slot.runner.is_none() {
            let w = &slot.weights;
            slot.runner = Some(Rc::new(Runner::new(&w.arch, w.params.clone(), &device)?));
        }
        Ok(slot.runner.clone().expect("built above"))
    }

    pub fn is_training(&self, slot: &str) -> bool {
        self.training.as_ref().is_some_and(|t| t.slot == slot)
    }
}

/// The slot's weights file takes its runner's current weights (a readback on WebGPU); a slot
/// without a runner is its file already.
pub(super) async fn settle(state: &Shared, slot: &str) -> Result<(), JsValue> {
    let Some(runner) = state.borrow().slot(slot)?.runner.clone() else {
        return Ok(());
    };
    let params = runner.params().await?;
    let mut st = state.borrow_mut();
    let s =
        (st.slots.get_mut(slot)).ok_or_else(|| invalid(format!("slot '{slot}' was removed")))?;
    let mut meta = s.weights.meta.clone();
    meta.sigma = crate::lab::sigma(&params);
    s.weights = WeightsFile::new(runner.arch(), meta, params)?;
    Ok(())
}

/// A JS Promise of `f`'s future, which gets its own handle on the state (and must not hold a
/// borrow across an `await`: the worker serialises calls, but a borrow held would still panic).
pub(super) fn promise<F>(state: &Shared, f: impl FnOnce(Shared) -> F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
{
    future_to_promise(f(state.clone()))
}

/// [`promise`] with the slot's runner in hand (no borrow of the state held while it runs).
pub(super) fn with_runner<F>(state: &Shared, slot: &str, f: impl FnOnce(Rc<Runner>) -> F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
{
    match state.borrow_mut().runner(slot) {
        Ok(runner) => future_to_promise(f(runner)),
        Err(e) => Promise::reject(&e),
    }
}
