//! The burn devices and reading tensors back (feature `engine`).

use burn::prelude::*;

use crate::error::VaeError;

/// burn's ndarray CPU backend: the native default and the browser's fallback. (burn 0.22 marks
/// it deprecated in favour of `flex`, but ndarray is the faster of the two in wasm here.)
#[allow(deprecated)]
pub fn cpu_device() -> Device {
    #[cfg(feature = "flex")]
    return Device::flex();
    #[cfg(not(feature = "flex"))]
    Device::ndarray()
}

/// Does `device` run the plain-Rust engine? The one rule that picks the engine: on the CPU the
/// trainer steps with [`crate::dense_step::DenseStep`] and the [`crate::runner::Runner`] infers
/// with [`crate::infer::DenseVae`]; on any other device (WebGPU) both go through burn.
pub fn is_host(device: &Device) -> bool {
    device.clone().without_autodiff() == cpu_device()
}

/// Read a float tensor back synchronously (native only: WebGPU needs [`read_f32_async`]).
pub fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, VaeError> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| VaeError::Readback(format!("{e:?}")))
}

/// Wait for a future natively: [`training::Trainer::run_chunk`] and the asynchronous readbacks
/// in a blocking caller (the CLI, the tests). Not for the browser, which must await.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    burn::tensor::read_sync(future)
}

/// Read a float tensor back asynchronously (required on WebGPU).
pub async fn read_f32_async<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, VaeError> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| VaeError::Readback(format!("{e:?}")))?;
    data.try_to_vec::<f32>()
        .map_err(|e| VaeError::Readback(format!("{e:?}")))
}

/// The page's two backends. Which one to use is the worker's choice (`www/worker.js`: the
/// adapter, a software renderer, the probe); here each opens its device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    WebGpu,
    Cpu,
}

impl Backend {
    pub fn parse(name: &str) -> Result<Self, VaeError> {
        match name {
            "webgpu" => Ok(Backend::WebGpu),
            "cpu" => Ok(Backend::Cpu),
            other => Err(VaeError::Invalid(format!(
                "unknown backend '{other}' (expected webgpu or cpu)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::WebGpu => "webgpu",
            Backend::Cpu => "cpu",
        }
    }
}

/// The WebGPU device, proven by one round trip (`Err`: why not, for the page to show).
#[cfg(all(feature = "webgpu", target_arch = "wasm32"))]
pub async fn open_webgpu() -> Result<Device, String> {
    webgpu_adapter_available().await?;
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("WebGPU initialisation failed: {e}"))?;
    let probe = Tensor::<1>::from_floats([1.0f32, 2.0], &device) * 2.0;
    let back = read_f32_async(probe)
        .await
        .map_err(|e| format!("WebGPU readback failed: {e}"))?;
    if back != [2.0, 4.0] {
        return Err(format!("WebGPU computed {back:?} for [2, 4]"));
    }
    Ok(device)
}

/// The CPU engine carries no wgpu: the worker loads the WebGPU engine for that backend instead.
#[cfg(all(not(feature = "webgpu"), target_arch = "wasm32"))]
pub async fn open_webgpu() -> Result<Device, String> {
    Err(
        "this is the CPU engine (built without WebGPU); the page loads the WebGPU engine for it"
            .into(),
    )
}

/// Is there a WebGPU adapter? The guard before burn's wgpu init, which may not fail gently (a
/// trap instead of an error): every `create("webgpu")` and `setBackend("webgpu")` passes here,
/// the worker's forced WebGPU included. (The worker's own `gpuAdapter()` only reads the
/// adapter's name to choose a backend; it guards nothing.) `navigator.gpu` is reached through
/// `js_sys::Reflect`: web-sys has the WebGPU bindings only under `--cfg web_sys_unstable_apis`,
/// a flag for the whole crate graph (wgpu included), which every wasm build would then carry.
#[cfg(all(feature = "webgpu", target_arch = "wasm32"))]
async fn webgpu_adapter_available() -> Result<(), String> {
    use js_sys::Reflect;
    use wasm_bindgen::{JsCast, JsValue};
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into())
        .map_err(|_| "no navigator".to_string())?;
    let gpu = Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser does not offer WebGPU (navigator.gpu is missing)".into());
    }
    let request = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise: js_sys::Promise = request
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
