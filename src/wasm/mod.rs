//! The thin wasm-bindgen layer: a `Lab` that holds named model slots, the digit data and at most
//! one training run, and forwards to the core library. Contract: `docs/wasm-api.md`.
//!
//! * `state`: what a Lab holds (device, digits, slots of a weights file and a runner, the run);
//! * `lab`: the backend, the digits and the slots' weights files;
//! * `inference`: encode, decode, sample, chains, statistics, through the core's `Runner`;
//! * `training`: start, run, checkpoint, restore and stop a training run (`Trainer::run_chunk`);
//! * `boundary`: typed values across the edge, errors with a kind, input checks.
//!
//! Async methods return Promises built from `Rc<RefCell<State>>` clones and never hold the borrow
//! across an `await` (the worker also serialises calls).

mod boundary;
mod inference;
mod lab;
mod state;
mod training;

pub use state::Lab;
