//! The thin wasm-bindgen layer: a `Lab` that holds named model slots, the digit data and at most
//! one training run, and forwards to the core library. Contract: `docs/wasm-api.md`.
//!
//! * `boundary`: typed values across the edge, errors with a kind, input checks;
//! * this file: the backend, data, slots and inference;
//! * `training`: start, run, checkpoint, resume and stop a training run.
//!
//! Async methods return Promises built from `Rc<RefCell<State>>` clones and never hold the borrow
//! across an `await` (the worker also serialises calls).

mod boundary;
mod inference;
mod training;

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use burn::prelude::*;
use js_sys::{Promise, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::analysis;
use crate::data::{Digits, Split};
use crate::device::read_f32_async;
use crate::infer::DenseVae;
use crate::lab;
use crate::limits::MAX_IMAGES_PER_CALL;
use crate::model::Vae;
use crate::weights::{WeightsFile, WeightsMeta};
use boundary::{check_slot, error, invalid, to_js};

#[derive(Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Backend {
    WebGpu,
    Cpu,
}

impl Backend {
    /// The backend the page names. Which one to use is the worker's choice (`www/worker.js`: the
    /// adapter, a software renderer, the probe), so there is no "auto" here.
    fn parse(name: &str) -> Result<Self, JsValue> {
        match name {
            "webgpu" => Ok(Backend::WebGpu),
            "cpu" => Ok(Backend::Cpu),
            other => Err(invalid(format!(
                "unknown backend '{other}' (expected webgpu or cpu)"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Backend::WebGpu => "webgpu",
            Backend::Cpu => "cpu",
        }
    }
}

struct Slot {
    /// burn's model, built from `host` on first use: sampling, drawing and chains on the CPU need
    /// only `dense`, so a page's first weights file never waits for burn's code to compile.
    model: OnceCell<Vae>,
    meta: WeightsMeta,
    /// Host copy of the weights, refreshed on load, export and every epoch end, so that a
    /// backend switch (or a lost GPU) never loses the model. While `model` is unbuilt, this is
    /// the model.
    host: WeightsFile,
    /// The plain-Rust copy for inference on the CPU backend, built on first use and dropped
    /// whenever the model changes.
    dense: Option<Rc<DenseVae>>,
}

impl Slot {
    fn new(model: Vae, meta: WeightsMeta, host: WeightsFile) -> Self {
        Slot {
            model: OnceCell::from(model),
            meta,
            host,
            dense: None,
        }
    }

    /// A slot whose burn model waits until something needs it (a loaded weights file).
    fn from_host(meta: WeightsMeta, host: WeightsFile) -> Self {
        Slot {
            model: OnceCell::new(),
            meta,
            host,
            dense: None,
        }
    }

    fn set_model(&mut self, model: Vae) {
        self.model = OnceCell::from(model);
        self.dense = None;
    }

    /// Forget the built model: the next use rebuilds it from `host` (on another device).
    fn rebuild_from_host(&mut self) {
        self.model = OnceCell::new();
        self.dense = None;
    }

    /// burn's model on `device` (which must be the one it was built on, the Lab's).
    fn model(&self, device: &Device) -> Result<Vae, crate::error::VaeError> {
        if let Some(model) = self.model.get() {
            return Ok(model.clone());
        }
        let model = self.host.to_model(device)?;
        Ok(self.model.get_or_init(|| model).clone())
    }
}

struct State {
    device: Device,
    backend: Backend,
    /// Set once WebGPU was tried; reused on later switches (burn's runtime is initialised once).
    gpu_device: Option<Device>,
    fallback_reason: Option<String>,
    /// The digits fetched so far: the page sends the held-out and the training part each when a
    /// panel first needs it, so either may still be empty.
    data: Split,
    /// What a run's weights file says it was trained on (`clearData` names the dataset).
    dataset: String,
    slots: BTreeMap<String, Slot>,
    training: Option<training::TrainRun>,
}

type Shared = Rc<RefCell<State>>;

impl State {
    fn slot(&self, name: &str) -> Result<&Slot, JsValue> {
        self.slots.get(name).ok_or_else(|| {
            let have: Vec<&String> = self.slots.keys().collect();
            invalid(format!("no model in slot '{name}' (loaded: {have:?})"))
        })
    }

    /// The digits, once the held-out part (and, with `train`, the training part) is loaded.
    fn data(&self, train: bool) -> Result<&Split, JsValue> {
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

    fn model(&self, name: &str) -> Result<Vae, JsValue> {
        Ok(self.slot(name)?.model(&self.device)?)
    }

    /// The slot's plain-Rust inference copy ([`DenseVae`]) on the CPU backend; `None` on WebGPU,
    /// where the model runs on the GPU as chosen.
    fn dense(&mut self, name: &str) -> Result<Option<Rc<DenseVae>>, JsValue> {
        if self.backend != Backend::Cpu {
            return Ok(None);
        }
        if !self.slots.contains_key(name) {
            self.slot(name)?; // the error that lists the loaded slots
        }
        let slot = self.slots.get_mut(name).expect("checked above");
        if slot.dense.is_none() {
            let dense = match slot.model.get() {
                Some(model) => DenseVae::from_model(model)?,
                None => DenseVae::new(&slot.host.arch, &slot.host.params)?,
            };
            slot.dense = Some(Rc::new(dense));
        }
        Ok(slot.dense.clone())
    }

    fn model_and_device(&self, name: &str) -> Result<(Vae, Device), JsValue> {
        Ok((self.model(name)?, self.device.clone()))
    }
}

fn promise<F>(state: &Shared, f: impl FnOnce(Shared) -> F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
{
    future_to_promise(f(state.clone()))
}

/// Is there a WebGPU adapter? The engine's guard before burn's wgpu init, which may not fail
/// gently (a trap instead of an error): every caller of `create("webgpu")` or
/// `setBackend("webgpu")` passes here, the worker's forced WebGPU included. (The worker's own
/// `gpuAdapter()` only reads the adapter's name to choose a backend; it guards nothing.)
/// `navigator.gpu` is reached through `js_sys::Reflect`: web-sys has the WebGPU bindings only
/// under `--cfg web_sys_unstable_apis`, a flag for the whole crate graph (wgpu included).
#[cfg(feature = "webgpu")]
async fn webgpu_adapter_available() -> Result<(), String> {
    let global = js_sys::global();
    let navigator = js_sys::Reflect::get(&global, &"navigator".into())
        .map_err(|_| "no navigator".to_string())?;
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser does not offer WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise: Promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?
        .into();
    let adapter = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("the browser offers no WebGPU adapter".into());
    }
    Ok(())
}

#[cfg(feature = "webgpu")]
async fn init_webgpu() -> Result<Device, String> {
    webgpu_adapter_available().await?;
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("WebGPU initialisation failed: {e}"))?;
    // one tiny round trip proves the device really computes
    let probe = Tensor::<1>::from_floats([1.0f32, 2.0], &device) * 2.0;
    let back = crate::device::read_f32_async(probe)
        .await
        .map_err(|e| format!("WebGPU readback failed: {e}"))?;
    if back != [2.0, 4.0] {
        return Err(format!("WebGPU computed {back:?} for [2, 4]"));
    }
    Ok(device)
}

/// The CPU engine carries no wgpu: the worker loads the WebGPU engine for that backend instead.
#[cfg(not(feature = "webgpu"))]
async fn init_webgpu() -> Result<Device, String> {
    Err(
        "this is the CPU engine (built without WebGPU); the page loads the WebGPU engine for it"
            .into(),
    )
}

/// A slot's description for the page.
#[derive(Serialize)]
struct SlotInfo<'a> {
    slot: &'a str,
    label: String,
    params: usize,
    arch: &'a crate::model::ArchSpec,
    sigma: f32,
    meta: &'a WeightsMeta,
    training: bool,
}

/// The Lab: model slots, digit data and at most one training run, on WebGPU or the CPU.
#[wasm_bindgen]
pub struct Lab {
    state: Shared,
}

#[wasm_bindgen]
impl Lab {
    /// `backend`: "webgpu" (the CPU, with `fallbackReason`, if WebGPU does not start) or "cpu".
    pub async fn create(backend: String) -> Result<Lab, JsValue> {
        console_error_panic_hook::set_once();
        let (mut device, mut chosen, mut reason, mut gpu) =
            (crate::device::cpu_device(), Backend::Cpu, None, None);
        match Backend::parse(&backend)? {
            Backend::Cpu => reason = Some("CPU chosen by the user".to_string()),
            Backend::WebGpu => match init_webgpu().await {
                Ok(d) => {
                    device = d.clone();
                    gpu = Some(d);
                    chosen = Backend::WebGpu;
                }
                Err(why) => reason = Some(why),
            },
        }
        let state = State {
            device,
            backend: chosen,
            gpu_device: gpu,
            fallback_reason: reason,
            data: Split::default(),
            dataset: lab::SUBSET_DATASET.to_string(),
            slots: BTreeMap::new(),
            training: None,
        };
        Ok(Lab {
            state: Rc::new(RefCell::new(state)),
        })
    }

    /// Presets, defaults and every cap (`lab::Constants`), so the page restates none of them.
    pub fn constants() -> Result<JsValue, JsValue> {
        to_js(&lab::constants())
    }

    /// A digit file (`VAEDIGS1`, what `setData` takes) of a visitor's own pictures: `pixels`, n
    /// images of 784 bytes (ink bright), and `labels`, n bytes (255: none). Every tenth image is
    /// held out (`data::held_out`), so the page writes neither the format nor the rule itself.
    #[wasm_bindgen(js_name = digitsFile)]
    pub fn digits_file(pixels: &[u8], labels: &[u8]) -> Result<Vec<u8>, JsValue> {
        if labels.len() > MAX_IMAGES_PER_CALL {
            return Err(invalid(format!(
                "digitsFile: {} images at once is too many (max {MAX_IMAGES_PER_CALL})",
                labels.len()
            )));
        }
        let digits = Digits::new(pixels.to_vec(), Some(labels.to_vec()))?;
        Ok(Split::every_tenth_held_out(&digits).to_subset_bytes())
    }

    /// Whether this engine was built with WebGPU (the GPU engine) or is the light CPU one.
    #[wasm_bindgen(js_name = hasWebgpu)]
    pub fn has_webgpu() -> bool {
        cfg!(feature = "webgpu")
    }

    pub fn backend(&self) -> String {
        self.state.borrow().backend.name().to_string()
    }

    #[wasm_bindgen(js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.state.borrow().fallback_reason.clone()
    }

    /// Move to "cpu" or "webgpu", taking every model along (from its host copy). A running
    /// training run is stopped: its optimiser state lives on the old device.
    #[wasm_bindgen(js_name = setBackend)]
    pub fn set_backend(&self, name: String) -> Promise {
        promise(&self.state, |state| async move {
            let target = Backend::parse(&name)?;
            if state.borrow().backend == target {
                return Ok(target.name().into());
            }
            let known = state.borrow().gpu_device.clone();
            let device = match (target, known) {
                (Backend::Cpu, _) => crate::device::cpu_device(),
                (Backend::WebGpu, Some(d)) => d,
                (Backend::WebGpu, None) => {
                    let d = init_webgpu().await.map_err(|e| error("gpu", e))?;
                    state.borrow_mut().gpu_device = Some(d.clone());
                    d
                }
            };
            // refresh host copies from the current weights where the old device still answers (a
            // model never built is its host copy already)
            let current: Vec<(String, Vae)> = state
                .borrow()
                .slots
                .iter()
                .filter_map(|(k, s)| Some((k.clone(), s.model.get()?.clone())))
                .collect();
            for (name, model) in current {
                if let Ok(params) = read_f32_async(model.flat_params()).await {
                    if let Some(s) = state.borrow_mut().slots.get_mut(&name) {
                        if let Ok(file) = WeightsFile::new(model.arch(), s.meta.clone(), params) {
                            s.host = file;
                        }
                    }
                }
            }
            let mut st = state.borrow_mut();
            st.training = None;
            for slot in st.slots.values_mut() {
                slot.rebuild_from_host();
            }
            st.device = device;
            st.backend = target;
            st.fallback_reason =
                (target == Backend::Cpu).then(|| "CPU chosen by the user".to_string());
            Ok(target.name().into())
        })
    }

    /// Forget the digits held (another dataset comes next, part by part through `setData`);
    /// `description` is what the weights files of later runs give as their dataset.
    #[wasm_bindgen(js_name = clearData)]
    pub fn clear_data(&self, description: String) -> Result<(), JsValue> {
        let max = crate::limits::MAX_DESCRIPTION_BYTES;
        if description.is_empty() || description.len() > max {
            return Err(invalid(format!(
                "clearData: a dataset description of 1 to {max} bytes"
            )));
        }
        let mut st = self.state.borrow_mut();
        st.data = Split::default();
        st.dataset = description;
        Ok(())
    }

    /// A compact digit file: the whole `www/data/mnist-subset.bin` or one of its parts
    /// (`-train.bin`, `-test.bin`), which is merged with what is loaded. Returns `{n_train, n_test}`
    /// now held.
    #[wasm_bindgen(js_name = setData)]
    pub fn set_data(&self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        let part = Split::from_subset_bytes(bytes, "digit file")?;
        let mut st = self.state.borrow_mut();
        st.data.merge(part);
        let split = &st.data;
        #[derive(Serialize)]
        struct Sizes {
            n_train: usize,
            n_test: usize,
        }
        let out = to_js(&Sizes {
            n_train: split.train.len(),
            n_test: split.test.len(),
        })?;
        Ok(out)
    }

    #[wasm_bindgen(js_name = testImages)]
    pub fn test_images(&self, indices: Vec<u32>) -> Result<Vec<f32>, JsValue> {
        if indices.len() > MAX_IMAGES_PER_CALL {
            return Err(invalid(format!(
                "testImages: {} indices at once is too many (max {MAX_IMAGES_PER_CALL})",
                indices.len()
            )));
        }
        let st = self.state.borrow();
        let test = &st.data(false)?.test;
        let idx: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
        if let Some(bad) = idx.iter().find(|&&i| i >= test.len()) {
            return Err(invalid(format!(
                "test digit {bad} does not exist (there are {})",
                test.len()
            )));
        }
        Ok(test.floats(&idx))
    }

    #[wasm_bindgen(js_name = testLabels)]
    pub fn test_labels(&self) -> Result<Vec<u8>, JsValue> {
        let st = self.state.borrow();
        Ok(st.data(false)?.test.labels.clone().unwrap_or_default())
    }

    /// MNIST-style preprocessing of a drawing (ink in [0, 1], row-major width x height).
    pub fn preprocess(&self, gray: Vec<f32>, width: u32, height: u32) -> Result<Vec<f32>, JsValue> {
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 || w > 4096 || h > 4096 || gray.len() != w * h {
            return Err(invalid(format!(
                "preprocess: {} values for a {w}x{h} drawing",
                gray.len()
            )));
        }
        if gray.iter().any(|v| !v.is_finite()) {
            return Err(invalid("preprocess: the drawing contains NaN"));
        }
        Ok(analysis::preprocess_drawing(&gray, w, h))
    }

    /// Load a weights file into `slot`. A bad file throws and leaves the slot as it was.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, slot: String, bytes: &[u8]) -> Result<JsValue, JsValue> {
        check_slot(&slot)?;
        let file = WeightsFile::load(bytes, &slot)?;
        let mut st = self.state.borrow_mut();
        if st.training.as_ref().is_some_and(|t| t.slot == slot) {
            st.training = None;
        }
        st.slots
            .insert(slot.clone(), Slot::from_host(file.meta.clone(), file));
        drop(st);
        self.info(slot)
    }

    /// The current weights of `slot` as a weights file (Uint8Array).
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            // a model never built is its host copy: no need to build burn's just to read it back
            let built = state.borrow().slot(&slot)?.model.get().cloned();
            let (arch, params) = match built {
                Some(model) => (model.arch(), read_f32_async(model.flat_params()).await?),
                None => {
                    let st = state.borrow();
                    let host = &st.slot(&slot)?.host;
                    (host.arch.clone(), host.params.clone())
                }
            };
            let mut st = state.borrow_mut();
            let s = st
                .slots
                .get_mut(&slot)
                .ok_or_else(|| invalid(format!("slot '{slot}' was removed")))?;
            let mut meta = s.meta.clone();
            meta.sigma = lab::sigma(&params);
            let file = WeightsFile::new(arch, meta, params)?;
            let bytes = file.to_bytes();
            s.host = file;
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// `{slot, arch, label, params, sigma, meta, training}`.
    pub fn info(&self, slot: String) -> Result<JsValue, JsValue> {
        let st = self.state.borrow();
        let s = st.slot(&slot)?;
        let arch = &s.host.arch;
        to_js(&SlotInfo {
            slot: &slot,
            label: arch.label(),
            params: arch.param_count(),
            arch,
            sigma: s.host.sigma(),
            meta: &s.meta,
            training: st.training.as_ref().is_some_and(|t| t.slot == slot),
        })
    }

    pub fn slots(&self) -> Vec<String> {
        self.state.borrow().slots.keys().cloned().collect()
    }

    #[wasm_bindgen(js_name = removeSlot)]
    pub fn remove_slot(&self, slot: String) {
        let mut st = self.state.borrow_mut();
        if st.training.as_ref().is_some_and(|t| t.slot == slot) {
            st.training = None;
        }
        st.slots.remove(&slot);
    }
}
