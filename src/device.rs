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
