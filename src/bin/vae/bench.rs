//! `vae bench`: native training and inference speed, as JSON lines (numbers, no assertions).

use std::time::Instant;

use anyhow::{bail, Result};
use burn::prelude::{Device, Module};
use serde_json::json;

use crate::args::*;
use vae_lab::analysis;
use vae_lab::data::{Digits, Split};
use vae_lab::infer::DenseVae;
use vae_lab::limits;
use vae_lab::rng::Rng;
use vae_lab::training::{Start, Trainer, TrainingConfig};
use vae_lab::{block_on, cpu_device, read_f32, Vae};

/// The device for `--backend`. wgpu is behind the `gpu` feature so that the default build (and
/// CI) compiles no GPU stack it cannot use.
pub fn device_for(backend: BackendArg) -> Result<Device> {
    match backend {
        BackendArg::Cpu => Ok(cpu_device()),
        #[cfg(feature = "webgpu")]
        BackendArg::Wgpu => Device::wgpu_options().init().map_err(|e| anyhow::anyhow!("no usable GPU through wgpu: {e}")),
        #[cfg(not(feature = "webgpu"))]
        BackendArg::Wgpu => bail!("this vae was built without GPU support; build it with `cargo build --release --features gpu`"),
    }
}

/// Synthetic digits are enough to time the arithmetic; no data file needed.
pub fn bench(a: BenchArgs) -> Result<()> {
    let digits = Digits::random(2000, 1);
    let split = Split {
        train: digits.clone(),
        test: digits.head(100),
    };
    let device = device_for(a.backend)?;
    let on_gpu = a.backend != BackendArg::Cpu;
    let arch = if a.arch.arch.is_none() && a.arch.hidden.is_none() {
        ArchArgs {
            arch: Some("all".into()),
            hidden: None,
            latent: 12,
            output: a.arch.output,
        }
    } else {
        a.arch
    };
    let idx: Vec<usize> = (0..1000).collect();
    for spec in arch.specs()? {
        let config = TrainingConfig::new(spec.clone())
            .with_batch(a.batch)
            .with_epochs(limits::MAX_EPOCHS);
        let mut trainer = Trainer::new(config, Start::Seed, &split, &device)?;
        if a.engine == EngineArg::Burn {
            trainer.use_burn()?;
        }
        for _ in 0..10 {
            trainer.step();
        }
        block_on(trainer.take_chunk_metrics())?;
        let t = Instant::now();
        for _ in 0..a.steps {
            trainer.step();
        }
        block_on(trainer.take_chunk_metrics())?; // wait for the work to finish
        let ms_per_step = t.elapsed().as_secs_f64() * 1000.0 / a.steps as f64;
        let model = trainer.model();
        let recon = |model: &Vae, device: &Device| -> Result<(Vec<f32>, f64)> {
            let t = Instant::now();
            let out = read_f32(analysis::reconstruct(
                model,
                digits.batch(&idx, device),
                None,
            ))?;
            Ok((out, t.elapsed().as_secs_f64() * 1000.0))
        };
        recon(&model, &device)?; // warm-up: the first call compiles kernels on a GPU
        let (out, recon_ms) = recon(&model, &device)?;
        // On a GPU, the same weights on the CPU must give the same pixels.
        let cpu_diff = if on_gpu {
            let (cpu_out, _) = recon(&model.clone().fork(&cpu_device()), &cpu_device())?;
            out.iter()
                .zip(&cpu_out)
                .map(|(g, c)| (g - c).abs())
                .fold(0f32, f32::max)
        } else {
            0.0
        };
        // the page's interactive paths on the CPU: plain-Rust inference (src/infer.rs)
        let dense = DenseVae::new(&spec, &read_f32(model.flat_params())?)?;
        let x60 = digits.floats(&idx[..60]);
        let time_ms = |f: &mut dyn FnMut()| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        };
        let mut recon60 = (0..21)
            .map(|_| time_ms(&mut || drop(dense.reconstruct(&x60, 60, None))))
            .collect::<Vec<_>>();
        recon60.sort_by(f64::total_cmp);
        let chain_ms = time_ms(&mut || drop(dense.chain(60, 100, None, &mut Rng::new(1))));
        let (recon60_ms, chain_ms) = (recon60[10], chain_ms);
        let images_per_s = a.batch as f64 * 1000.0 / ms_per_step;
        if a.json {
            println!(
                "{}",
                json!({"arch": spec.label(), "backend": a.backend.name(), "engine": trainer.engine(), "batch": a.batch, "ms_per_step": ms_per_step,
                "train_images_per_s": images_per_s, "reconstruct_1000_ms": recon_ms, "max_abs_diff_vs_cpu": cpu_diff,
                "reconstruct_60_plain_ms": recon60_ms, "chain_60x100_plain_ms": chain_ms})
            );
        } else {
            println!("{} on {} ({:?} step): {:.2} ms/step ({:.0} images/s) training, batch {}; reconstruct 1000 digits {:.1} ms; \
                plain Rust: reconstruct 60 {:.3} ms, 60 chains x 100 steps {:.1} ms{}",
                spec.label(), a.backend.name(), trainer.engine(), ms_per_step, images_per_s, a.batch, recon_ms, recon60_ms, chain_ms,
                if on_gpu { format!("; max |{} - cpu| {:.1e}", a.backend.name(), cpu_diff) } else { String::new() });
        }
    }
    Ok(())
}
