//! The Lab's own methods: its backend, the digits, and the slots' weights files.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;

use super::boundary::{check_slot, error, invalid, to_js};
use super::state::{promise, settle, Lab, Slot, State};
use crate::data::{Digits, Split};
use crate::device::{cpu_device, open_webgpu, Backend};
use crate::lab;
use crate::limits::{check_at_most, MAX_DESCRIPTION_BYTES, MAX_IMAGES_PER_CALL};
use crate::weights::WeightsFile;

const USER_CHOSE_CPU: &str = "CPU chosen by the user";

#[wasm_bindgen]
impl Lab {
    /// `backend`: "webgpu" (the CPU, with `fallbackReason`, if WebGPU does not start) or "cpu".
    pub async fn create(backend: String) -> Result<Lab, JsValue> {
        console_error_panic_hook::set_once();
        let (mut device, mut chosen, mut gpu) = (cpu_device(), Backend::Cpu, None);
        let reason = match Backend::parse(&backend)? {
            Backend::Cpu => Some(USER_CHOSE_CPU.to_string()),
            Backend::WebGpu => match open_webgpu().await {
                Ok(d) => {
                    (device, chosen, gpu) = (d.clone(), Backend::WebGpu, Some(d));
                    None
                }
                Err(why) => Some(why),
            },
        };
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
        check_at_most(labels.len(), MAX_IMAGES_PER_CALL, "digitsFile: images")?;
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

    /// Move to "cpu" or "webgpu", taking every model along (by its weights). A running training
    /// run is stopped: its optimiser state lives on the old device.
    #[wasm_bindgen(js_name = setBackend)]
    pub fn set_backend(&self, name: String) -> Promise {
        promise(&self.state, |state| async move {
            let target = Backend::parse(&name)?;
            if state.borrow().backend == target {
                return Ok(target.name().into());
            }
            let known = state.borrow().gpu_device.clone();
            let device = match (target, known) {
                (Backend::Cpu, _) => cpu_device(),
                (Backend::WebGpu, Some(d)) => d,
                (Backend::WebGpu, None) => {
                    let d = open_webgpu().await.map_err(|e| error("gpu", e))?;
                    state.borrow_mut().gpu_device = Some(d.clone());
                    d
                }
            };
            // the weights files take the runners' current weights where the old device still
            // answers
            let names: Vec<String> = state.borrow().slots.keys().cloned().collect();
            for name in names {
                let _ = settle(&state, &name).await;
            }
            let mut st = state.borrow_mut();
            st.training = None;
            st.slots.values_mut().for_each(|s| s.runner = None);
            (st.device, st.backend) = (device, target);
            st.fallback_reason = (target == Backend::Cpu).then(|| USER_CHOSE_CPU.to_string());
            Ok(target.name().into())
        })
    }

    /// Forget the digits held (another dataset comes next, part by part through `setData`);
    /// `description` is what the weights files of later runs give as their dataset.
    #[wasm_bindgen(js_name = clearData)]
    pub fn clear_data(&self, description: String) -> Result<(), JsValue> {
        if description.is_empty() {
            return Err(invalid("clearData: a dataset needs a description"));
        }
        check_at_most(description.len(), MAX_DESCRIPTION_BYTES, "clearData: bytes")?;
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
        let (n_train, n_test) = (st.data.train.len(), st.data.test.len());
        to_js(&serde_json::json!({ "n_train": n_train, "n_test": n_test }))
    }

    #[wasm_bindgen(js_name = testImages)]
    pub fn test_images(&self, indices: Vec<u32>) -> Result<Vec<f32>, JsValue> {
        Ok(self
            .state
            .borrow()
            .data(false)?
            .test
            .floats_checked(&indices)?)
    }

    #[wasm_bindgen(js_name = testLabels)]
    pub fn test_labels(&self) -> Result<Vec<u8>, JsValue> {
        let st = self.state.borrow();
        Ok(st.data(false)?.test.labels.clone().unwrap_or_default())
    }

    /// MNIST-style preprocessing of a drawing (ink in [0, 1], row-major width x height).
    pub fn preprocess(&self, gray: Vec<f32>, width: u32, height: u32) -> Result<Vec<f32>, JsValue> {
        let (w, h) = (width as usize, height as usize);
        Ok(crate::analysis::preprocess_drawing(&gray, w, h)?)
    }

    /// Load a weights file into `slot`. A bad file throws and leaves the slot as it was.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, slot: String, bytes: &[u8]) -> Result<JsValue, JsValue> {
        check_slot(&slot)?;
        let file = WeightsFile::load(bytes, &slot)?;
        let mut st = self.state.borrow_mut();
        if st.is_training(&slot) {
            st.training = None;
        }
        st.slots.insert(slot.clone(), Slot::new(file, None));
        drop(st);
        self.info(slot)
    }

    /// The current weights of `slot` as a weights file (Uint8Array).
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            settle(&state, &slot).await?;
            let bytes = state.borrow().slot(&slot)?.weights.to_bytes();
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// `{slot, arch, label, params, sigma, meta, training}`.
    pub fn info(&self, slot: String) -> Result<JsValue, JsValue> {
        let st = self.state.borrow();
        let weights = &st.slot(&slot)?.weights;
        to_js(&lab::SlotInfo::new(&slot, weights, st.is_training(&slot)))
    }

    pub fn slots(&self) -> Vec<String> {
        self.state.borrow().slots.keys().cloned().collect()
    }

    #[wasm_bindgen(js_name = removeSlot)]
    pub fn remove_slot(&self, slot: String) {
        let mut st = self.state.borrow_mut();
        if st.is_training(&slot) {
            st.training = None;
        }
        st.slots.remove(&slot);
    }
}
