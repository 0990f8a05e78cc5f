//! Inference from the page: each method hands its arguments to the slot's
//! [`crate::runner::Runner`], which checks them and runs where the engine does (plain Rust on the
//! CPU, burn's model on WebGPU).

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::boundary::to_js;
use super::state::{promise, with_runner, Lab};
use crate::config::HELD_OUT_SEED;
use crate::lab::COLLAPSE_DIGITS;
use crate::rng::Rng;

fn floats(v: Vec<f32>) -> Result<JsValue, JsValue> {
    Ok(js_sys::Float32Array::from(v.as_slice()).into())
}

#[wasm_bindgen]
impl Lab {
    /// One image's path through the model (`infer::Inside`): every layer's activations, mu,
    /// logvar, the noise eps (from `seed`), z, the decoder mean, sigma and the loss terms.
    pub fn inside(&self, slot: String, pixels: Vec<f32>, seed: u32) -> Promise {
        with_runner(&self.state, &slot, move |r| async move {
            to_js(&r.inside(pixels, seed as u64).await?)
        })
    }

    /// -> Float32Array(2 n L): mu then logvar.
    pub fn encode(&self, slot: String, pixels: Vec<f32>) -> Promise {
        with_runner(&self.state, &slot, |r| async move {
            let (mu, logvar) = r.encode(pixels).await?;
            floats([mu, logvar].concat())
        })
    }

    pub fn reconstruct(&self, slot: String, pixels: Vec<f32>, sampled: bool, seed: u32) -> Promise {
        with_runner(&self.state, &slot, move |r| async move {
            let mut rng = Rng::new(seed as u64);
            floats(r.reconstruct(pixels, sampled.then_some(&mut rng)).await?)
        })
    }

    pub fn decode(&self, slot: String, z: Vec<f32>) -> Promise {
        with_runner(
            &self.state,
            &slot,
            |r| async move { floats(r.decode(z).await?) },
        )
    }

    pub fn sample(&self, slot: String, n: u32, seed: u32) -> Promise {
        with_runner(&self.state, &slot, move |r| async move {
            floats(r.sample(n as usize, &mut Rng::new(seed as u64)).await?)
        })
    }

    /// -> Float32Array((steps + 1) n 784), frame-major. `start`: empty, one digit, or n digits.
    pub fn chain(&self, slot: String, n: u32, steps: u32, seed: u32, start: Vec<f32>) -> Promise {
        with_runner(&self.state, &slot, move |r| async move {
            let start = (!start.is_empty()).then_some(start);
            let mut rng = Rng::new(seed as u64);
            floats(r.chain(n as usize, steps as usize, start, &mut rng).await?)
        })
    }

    /// `CollapseStats` over the first 256 test digits.
    pub fn collapse(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            let runner = state.borrow_mut().runner(&slot)?;
            let test = state.borrow().data(false)?.test.head(COLLAPSE_DIGITS);
            to_js(&runner.collapse(&test).await?)
        })
    }

    /// The plane of the test digits' latent means (`analysis::PcaPlane`): {coords (n_test * 2),
    /// mean, axes, explained}.
    #[wasm_bindgen(js_name = latentMap)]
    pub fn latent_map(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            let runner = state.borrow_mut().runner(&slot)?;
            let test = state.borrow().data(false)?.test.clone();
            to_js(&runner.latent_plane(&test).await?)
        })
    }

    /// `lab::Evaluation` {n, nelbo, rec, kl, active_units} on the test split; with
    /// `importance_samples`, also log p(x) by importance sampling.
    pub fn evaluate(&self, slot: String, importance_samples: Option<u32>) -> Promise {
        promise(&self.state, move |state| async move {
            let runner = state.borrow_mut().runner(&slot)?;
            let test = state.borrow().data(false)?.test.clone();
            let k = importance_samples.map(|k| k as usize);
            to_js(&runner.evaluate(&test, k, HELD_OUT_SEED).await?)
        })
    }
}
