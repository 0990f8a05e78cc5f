//! The edge between JS and Rust: typed values in and out (serde-wasm-bindgen, JSON-compatible
//! objects, never JSON strings), errors that carry a `kind` the page switches on, and the input
//! checks every method runs before touching burn (a panic in wasm aborts the whole module).

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::VaeError;
use crate::limits::MAX_SLOT_NAME;

/// A JS `Error` with `kind`: "input" (bad argument), "data", "weights", "diverged", "gpu" (a
/// device or readback failure: the page moves to the CPU). A trap never gets here: the worker
/// marks a `WebAssembly.RuntimeError` as kind "trap".
pub fn error(kind: &str, message: impl std::fmt::Display) -> JsValue {
    let e = js_sys::Error::new(&message.to_string());
    // setting a property on a fresh Error object cannot fail
    let _ = js_sys::Reflect::set(&e, &"kind".into(), &kind.into());
    e.into()
}

/// Bad input from the caller.
pub fn invalid(message: impl std::fmt::Display) -> JsValue {
    error("input", message)
}

impl From<VaeError> for JsValue {
    fn from(e: VaeError) -> JsValue {
        error(e.kind(), &e)
    }
}

/// A Rust value as a plain JS object (maps as objects, not `Map`s; u64 as numbers).
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| error("input", format!("cannot hand the result to JS: {e}")))
}

/// A JS value as a Rust value; `what` names it in the error.
pub fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| invalid(format!("{what}: {e}")))
}

/// Slot names are short non-empty strings (the worker has already checked they are strings:
/// wasm-bindgen traps on anything else).
pub fn check_slot(slot: &str) -> Result<(), JsValue> {
    let n = slot.chars().count();
    if n == 0 || n > MAX_SLOT_NAME {
        return Err(invalid(format!(
            "a slot name has 1 to {MAX_SLOT_NAME} characters, got {n}"
        )));
    }
    Ok(())
}

/// `performance.now()` of the worker or page, in ms (`Date.now()` where there is none).
pub fn now_ms() -> f64 {
    let global = js_sys::global();
    let performance = match global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        Some(worker) => worker.performance(),
        None => global
            .dyn_ref::<web_sys::Window>()
            .and_then(|w| w.performance()),
    };
    performance.map_or_else(js_sys::Date::now, |p| p.now())
}
