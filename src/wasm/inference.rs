//! Inference from the page: encode, reconstruct, decode, sample, chain, the Inside trace,
//! collapse statistics, the latent map and the held-out evaluation of a slot's model. On the CPU
//! the plain-Rust model answers (`infer::DenseVae`), on WebGPU burn's on the GPU.

use std::rc::Rc;

use burn::prelude::*;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::boundary::{check_count, check_pixels, invalid, to_js};
use super::{promise, Lab, Shared};
use crate::analysis::{self, CollapseSums, FixedPointChain};
use crate::data::Digits;
use crate::infer::DenseVae;
use crate::lab::{self, Evaluation, COLLAPSE_DIGITS};
use crate::limits::{
    MAX_CHAINS, MAX_CHAIN_FRAMES, MAX_CHAIN_STEPS, MAX_IMAGES_PER_CALL, MAX_IMPORTANCE_SAMPLES,
    MAX_SAMPLES, STATS_CHUNK,
};
use crate::model::{Vae, PIXELS};
use crate::rng::Rng;
use crate::{device::read_f32_async, training as core_training};

/// The host inference model of `slot` on either backend: the cached one on the CPU, on WebGPU one
/// built from the weights read back (async). No borrow of `state` is held across the readback.
async fn host_model(state: &Shared, slot: &str) -> Result<Rc<DenseVae>, JsValue> {
    let fast = state.borrow_mut().dense(slot)?;
    if let Some(fast) = fast {
        return Ok(fast);
    }
    let model = state.borrow().model(slot)?;
    Ok(Rc::new(DenseVae::new(
        &model.arch(),
        &read_f32_async(model.flat_params()).await?,
    )?))
}

async fn read(t: Tensor<2>) -> Result<Vec<f32>, JsValue> {
    Ok(read_f32_async(t).await?)
}

fn floats(v: Vec<f32>) -> JsValue {
    js_sys::Float32Array::from(v.as_slice()).into()
}

/// Collapse statistics of `digits` in chunks, read back asynchronously (WebGPU).
async fn collapse_sums(
    model: &Vae,
    digits: &Digits,
    device: &Device,
) -> Result<CollapseSums, JsValue> {
    let mut sums = CollapseSums::default();
    let idx: Vec<usize> = (0..digits.len()).collect();
    for chunk in idx.chunks(STATS_CHUNK) {
        let t = analysis::collapse_chunk(model, digits.batch(chunk, device));
        sums.add(chunk.len(), &read_f32_async(t).await?);
    }
    Ok(sums)
}

#[wasm_bindgen]
impl Lab {
    /// One image's path through the model (`infer::Inside`): every layer's activations, mu,
    /// logvar, the noise eps (from `seed`), z, the decoder mean, sigma and the loss terms.
    pub fn inside(&self, slot: String, pixels: Vec<f32>, seed: u32) -> Promise {
        promise(&self.state, move |state| async move {
            if check_pixels(&pixels, "inside")? != 1 {
                return Err(invalid("inside: one image (784 floats) at a time"));
            }
            let dense = host_model(&state, &slot).await?;
            let eps = Rng::new(seed as u64).normals(dense.latent());
            to_js(&dense.inside(&pixels, &eps))
        })
    }

    /// -> Float32Array(2 n L): mu then logvar.
    pub fn encode(&self, slot: String, pixels: Vec<f32>) -> Promise {
        promise(&self.state, |state| async move {
            let n = check_pixels(&pixels, "encode")?;
            if let Some(fast) = state.borrow_mut().dense(&slot)? {
                let (mut mu, logvar) = fast.encode(&pixels, n);
                mu.extend(logvar);
                return Ok(floats(mu));
            }
            let (model, device) = state.borrow().model_and_device(&slot)?;
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
            let mut rng = Rng::new(seed as u64);
            if let Some(fast) = state.borrow_mut().dense(&slot)? {
                return Ok(floats(fast.reconstruct(
                    &pixels,
                    n,
                    sampled.then_some(&mut rng),
                )));
            }
            let (model, device) = state.borrow().model_and_device(&slot)?;
            let x = Tensor::<2>::from_data(TensorData::new(pixels, [n, PIXELS]), &device);
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
            let l = state.borrow().slot(&slot)?.host.arch.latent;
            if z.is_empty()
                || !z.len().is_multiple_of(l)
                || z.len() / l > MAX_IMAGES_PER_CALL
                || z.iter().any(|v| !v.is_finite())
            {
                return Err(invalid(format!(
                    "decode: expected n x {l} finite latent values, got {}",
                    z.len()
                )));
            }
            let n = z.len() / l;
            if let Some(fast) = state.borrow_mut().dense(&slot)? {
                return Ok(floats(fast.decode(&z, n)));
            }
            let (model, device) = state.borrow().model_and_device(&slot)?;
            Ok(floats(
                read(model.decode(Tensor::from_data(TensorData::new(z, [n, l]), &device))).await?,
            ))
        })
    }

    pub fn sample(&self, slot: String, n: u32, seed: u32) -> Promise {
        promise(&self.state, |state| async move {
            let n = check_count(n, MAX_SAMPLES, "sample: n")?;
            if let Some(fast) = state.borrow_mut().dense(&slot)? {
                return Ok(floats(fast.sample(n, &mut Rng::new(seed as u64))));
            }
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
                return Err(invalid(format!(
                    "chain: {n} chains x {steps} steps keeps too many frames (n x (steps+1) at most {MAX_CHAIN_FRAMES})"
                )));
            }
            let start = if start.is_empty() {
                None
            } else {
                Some(match check_pixels(&start, "chain start")? {
                    1 => start.repeat(n),
                    k if k == n => start,
                    k => {
                        return Err(invalid(format!(
                            "chain start: {k} digits for {n} chains (give 1 or {n})"
                        )))
                    }
                })
            };
            let mut rng = Rng::new(seed as u64);
            if let Some(fast) = state.borrow_mut().dense(&slot)? {
                return Ok(floats(fast.chain(n, steps, start, &mut rng)));
            }
            let (model, device) = state.borrow().model_and_device(&slot)?;
            let start = start.map(|pixels| {
                Tensor::<2>::from_data(TensorData::new(pixels, [n, PIXELS]), &device)
            });
            let frames = FixedPointChain { steps }.run(&model, n, start, &mut rng);
            // one readback for all frames
            Ok(floats(read(Tensor::cat(frames, 0)).await?))
        })
    }

    /// `CollapseStats` over the first 256 test digits.
    pub fn collapse(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            let (model, test, device) = {
                let st = state.borrow();
                (
                    st.model(&slot)?,
                    st.data(false)?.test.head(COLLAPSE_DIGITS),
                    st.device.clone(),
                )
            };
            to_js(&collapse_sums(&model, &test, &device).await?.finish())
        })
    }

    /// PCA-2D of the test digits' latent means: Float32Array(n_test * 2).
    #[wasm_bindgen(js_name = latentMap)]
    pub fn latent_map(&self, slot: String) -> Promise {
        promise(&self.state, |state| async move {
            let (model, x, n) = {
                let st = state.borrow();
                let test = &st.data(false)?.test;
                let idx: Vec<usize> = (0..test.len()).collect();
                (st.model(&slot)?, test.batch(&idx, &st.device), test.len())
            };
            let l = model.latent();
            let mu = read(model.encode(x).0).await?;
            Ok(floats(analysis::pca_2d(&mu, n, l)))
        })
    }

    /// `lab::Evaluation` {n, nelbo, rec, kl, active_units} on the test split.
    pub fn evaluate(&self, slot: String, importance_samples: Option<u32>) -> Promise {
        promise(&self.state, move |state| async move {
            let (model, test, device) = {
                let st = state.borrow();
                (
                    st.model(&slot)?,
                    st.data(false)?.test.clone(),
                    st.device.clone(),
                )
            };
            let sums =
                core_training::evaluate(&model, &test, &device, core_training::HELD_OUT_SEED);
            let sums = read_f32_async(sums).await?;
            let stats = collapse_sums(&model, &test, &device).await?.finish();
            let evaluation = Evaluation::new(test.len(), &sums, &stats)?;
            let Some(k) = importance_samples else {
                return to_js(&evaluation);
            };
            let k = check_count(k, MAX_IMPORTANCE_SAMPLES, "importanceSamples")?;
            let dense = host_model(&state, &slot).await?;
            let ll = lab::log_likelihood(&dense, &test, k, core_training::HELD_OUT_SEED)?;
            #[derive(serde::Serialize)]
            struct WithLikelihood {
                #[serde(flatten)]
                evaluation: Evaluation,
                log_likelihood: f64,
                importance_samples: usize,
            }
            to_js(&WithLikelihood {
                evaluation,
                log_likelihood: ll,
                importance_samples: k,
            })
        })
    }
}
