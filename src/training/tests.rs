//! The trainer's tests: the objective moves the right way, the engines agree, a restored run
//! ends like an uninterrupted one, the guards hold.

use super::*;
use crate::config::ArchSpec;
use crate::data::stratified_split;

/// Small synthetic digits: three blob classes, enough to learn something in an epoch.
pub(crate) fn toy_split(n: usize) -> Split {
    let mut rng = Rng::new(11);
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let class = (i % 3) as u8;
        let (cx, cy) = [(8.0, 8.0), (20.0, 14.0), (12.0, 20.0)][class as usize];
        for y in 0..28 {
            for x in 0..28 {
                let d2 = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2);
                let v = (255.0 * (-d2 / 18.0).exp() + 20.0 * rng.normal()).clamp(0.0, 255.0);
                pixels.push(v as u8);
            }
        }
        labels.push(class);
    }
    stratified_split(&Digits::new(pixels, Some(labels)).unwrap(), n / 5, 3).unwrap()
}

pub(crate) fn run(config: TrainingConfig, split: &Split) -> (Trainer, Vec<EpochRecord>) {
    let device = crate::device::cpu_device();
    let mut t = Trainer::new(config, Start::Seed, split, &device).unwrap();
    let mut out = Vec::new();
    while !t.is_done() {
        out.push(guarded_epoch(&mut t).unwrap());
    }
    (t, out)
}

#[test]
fn the_kl_weight_rises_linearly_over_the_warm_up_then_stays_at_beta() {
    let split = toy_split(640);
    let device = crate::device::cpu_device();
    let config = TrainingConfig::new(ArchSpec::new(vec![8]).with_latent(3))
        .with_epochs(3)
        .with_beta(4.0)
        .with_kl_warmup(2)
        .with_limit(Some(256));
    let mut t = Trainer::new(config, Start::Seed, &split, &device).unwrap();
    let per_epoch = t.steps_per_epoch();
    assert_eq!(t.kl_weight(), 0.0);
    for _ in 0..per_epoch / 2 {
        t.step();
    }
    let half = (per_epoch / 2) as f64 / (2 * per_epoch) as f64 * 4.0;
    assert!(
        (t.kl_weight() - half).abs() < 1e-12,
        "{} vs {half}",
        t.kl_weight()
    );
    guarded_epoch(&mut t).unwrap(); // finishes epoch 1
    assert!((t.kl_weight() - 2.0).abs() < 1e-12);
    guarded_epoch(&mut t).unwrap();
    assert_eq!(t.kl_weight(), 4.0);
    assert!(TrainingConfig::new(ArchSpec::preset("A").unwrap())
        .with_beta(-1.0)
        .validate()
        .is_err());
    assert!(TrainingConfig::new(ArchSpec::preset("A").unwrap())
        .with_beta(f64::NAN)
        .validate()
        .is_err());
}

/// A larger β buys a smaller KL (fewer nats through the latents) at the price of a worse
/// true nELBO, on the same seed and data.
#[test]
fn a_larger_beta_trades_kl_for_reconstruction() {
    let split = toy_split(1000);
    let config = |beta: f64| {
        TrainingConfig::new(ArchSpec::new(vec![16]).with_latent(4))
            .with_epochs(4)
            .with_seed(3)
            .with_beta(beta)
    };
    let (_, plain) = run(config(1.0), &split);
    let (_, heavy) = run(config(8.0), &split);
    let (p, h) = (plain.last().unwrap().test, heavy.last().unwrap().test);
    assert!(
        h.kl < 0.5 * p.kl,
        "KL at beta 8 {} vs beta 1 {}",
        h.kl,
        p.kl
    );
    assert!(
        h.nelbo > p.nelbo,
        "nELBO at beta 8 {} vs beta 1 {}",
        h.nelbo,
        p.nelbo
    );
}

#[test]
fn one_epoch_lowers_the_nelbo() {
    let split = toy_split(2000);
    let device = crate::device::cpu_device();
    let config = TrainingConfig::new(ArchSpec::preset("B").unwrap())
        .with_epochs(1)
        .with_seed(5);
    let before = Metrics::from_sums(
        &crate::device::read_f32(evaluate(
            &config.arch.init(&device, 5),
            &split.test,
            &device,
            1,
        ))
        .unwrap(),
    );
    let (t, hist) = run(config, &split);
    let after = Metrics::from_sums(
        &crate::device::read_f32(evaluate(&t.model(), &split.test, &device, 1)).unwrap(),
    );
    assert_eq!(hist.len(), 1);
    assert!(
        after.nelbo < before.nelbo - 20.0,
        "held-out nELBO {} -> {}",
        before.nelbo,
        after.nelbo
    );
    assert!((hist[0].train.nelbo - (hist[0].train.kl + hist[0].train.rec)).abs() < 1e-2);
}

/// The CPU's plain-Rust step and burn's autodiff train alike: same batches, same noise, the
/// same weights after an epoch up to float rounding, and the same numbers. Switching engines
/// midway keeps the weights and Adam's state.
#[test]
fn the_dense_step_and_burns_autodiff_train_alike() {
    let split = toy_split(640);
    let device = crate::device::cpu_device();
    let config = TrainingConfig::new(ArchSpec::preset("D").unwrap())
        .with_epochs(2)
        .with_seed(3)
        .with_beta(0.5)
        .with_kl_warmup(1);
    let mut dense = Trainer::new(config.clone(), Start::Seed, &split, &device).unwrap();
    let mut burn = Trainer::new(config.clone(), Start::Seed, &split, &device).unwrap();
    burn.use_burn().unwrap();
    assert_eq!(
        (dense.engine(), burn.engine()),
        (StepEngine::Dense, StepEngine::Burn)
    );
    let a = guarded_epoch(&mut dense).unwrap();
    let b = guarded_epoch(&mut burn).unwrap();
    for (x, y) in [
        (a.train.nelbo, b.train.nelbo),
        (a.test.nelbo, b.test.nelbo),
        (a.train.kl, b.train.kl),
    ] {
        assert!(
            (x - y).abs() < 1e-3 * y.abs().max(1.0),
            "{x} against burn's {y}"
        );
    }
    let pa = crate::device::read_f32(dense.model().flat_params()).unwrap();
    let pb = crate::device::read_f32(burn.model().flat_params()).unwrap();
    let worst = pa
        .iter()
        .zip(&pb)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(
        worst < 1e-3,
        "weights differ by up to {worst} after an epoch"
    );
    // the second epoch on burn from the dense run's state, against the dense run itself
    let mut switched = Trainer::restore(
        &dense.checkpoint(
            crate::device::block_on(dense.state_floats()).unwrap(),
            serde_json::Value::Null,
        ),
        &split,
        &device,
    )
    .unwrap();
    switched.use_burn().unwrap();
    let c = guarded_epoch(&mut switched).unwrap();
    let d = guarded_epoch(&mut dense).unwrap();
    assert!((c.train.nelbo - d.train.nelbo).abs() < 1e-3 * d.train.nelbo.abs());
}

#[test]
fn seeded_training_is_reproducible() {
    let split = toy_split(300);
    let config = || {
        TrainingConfig::new(ArchSpec::new(vec![16]).with_latent(4))
            .with_epochs(2)
            .with_seed(9)
    };
    let (a, ha) = run(config(), &split);
    let (b, hb) = run(config(), &split);
    assert_eq!(ha, hb);
    let pa = crate::device::read_f32(a.model().flat_params()).unwrap();
    assert_eq!(
        pa,
        crate::device::read_f32(b.model().flat_params()).unwrap()
    );
    let (c, _) = run(config().with_seed(10), &split);
    assert_ne!(
        pa,
        crate::device::read_f32(c.model().flat_params()).unwrap()
    );
}

#[test]
fn non_finite_epoch_rolls_back_and_reports() {
    let split = toy_split(120);
    let device = crate::device::cpu_device();
    let config = TrainingConfig::new(ArchSpec::preset("A").unwrap()).with_epochs(3);
    let mut t = Trainer::new(config, Start::Seed, &split, &device).unwrap();
    let start = crate::device::read_f32(t.model().flat_params()).unwrap();
    while !t.step() {}
    let nan = Metrics {
        nelbo: f64::NAN,
        ..Default::default()
    };
    let err = t
        .finish_epoch(nan, Metrics::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("diverged") && err.contains("rolled back"),
        "{err}"
    );
    assert!(t.is_done());
    assert_eq!(
        crate::device::read_f32(t.model().flat_params()).unwrap(),
        start
    );
}

/// On the plain-Rust step a NaN weight that no input reaches (a pixel that is 0 in every
/// digit) leaves the loss finite; the epoch's end checks the weights themselves and rolls
/// back. Here the epoch's numbers are given as finite whatever the weights.
#[test]
fn a_nan_weight_the_loss_cannot_see_still_ends_the_run() {
    let split = toy_split(120);
    let device = crate::device::cpu_device();
    let config = TrainingConfig::new(ArchSpec::preset("B").unwrap()).with_epochs(3);
    let mut t = Trainer::new(config, Start::Seed, &split, &device).unwrap();
    let start = crate::device::read_f32(t.model().flat_params()).unwrap();
    while !t.step() {}
    let Engine::Dense { step, .. } = &mut t.engine else {
        panic!("the CPU steps in plain Rust")
    };
    let mut params = step.params().to_vec();
    params[7] = f32::NAN; // first layer, pixel 0 (a corner)
    step.set_params(&params);
    let fine = Metrics {
        nelbo: 100.0,
        kl: 10.0,
        rec: 90.0,
    };
    let err = t.finish_epoch(fine, fine).unwrap_err().to_string();
    assert!(err.contains("parameter 7 is not finite"), "{err}");
    assert_eq!(
        crate::device::read_f32(t.model().flat_params()).unwrap(),
        start
    );
}

/// Step until the epoch ends, checking every step's numbers as the app checks its chunks.
fn guarded_epoch(t: &mut Trainer) -> Result<EpochRecord, VaeError> {
    t.chunk_label = |_| "the last step's".to_string();
    loop {
        let report = crate::device::block_on(t.run_chunk(1)).unwrap();
        assert!(report.steps > 0, "the run is over");
        if let Some(e) = report.error {
            return Err(e);
        }
        if let Some(record) = report.epoch_end {
            return Ok(record);
        }
    }
}

#[test]
fn a_resumed_run_ends_exactly_like_an_uninterrupted_one() {
    let split = toy_split(300);
    let device = crate::device::cpu_device();
    let config = || {
        TrainingConfig::new(ArchSpec::new(vec![16]).with_latent(4))
            .with_epochs(3)
            .with_seed(4)
            .with_batch(32)
    };
    let (whole, history) = run(config(), &split);

    // one epoch, then a checkpoint through bytes, then the rest on a fresh trainer
    let mut first = Trainer::new(config(), Start::Seed, &split, &device).unwrap();
    guarded_epoch(&mut first).unwrap();
    let floats = crate::device::block_on(first.state_floats()).unwrap();
    let bytes = first
        .checkpoint(floats, serde_json::json!({"slot": "run1"}))
        .to_bytes();
    drop(first);
    let ckpt = Checkpoint::from_bytes(&bytes, "ckpt").unwrap();
    assert_eq!(ckpt.header.extra["slot"], "run1");
    let mut resumed = Trainer::restore(&ckpt, &split, &device).unwrap();
    assert_eq!(resumed.epoch(), 1);
    while !resumed.is_done() {
        guarded_epoch(&mut resumed).unwrap();
    }
    assert_eq!(
        resumed.history, history,
        "each epoch exactly once, same numbers"
    );
    assert_eq!(
        crate::device::read_f32(resumed.model().flat_params()).unwrap(),
        crate::device::read_f32(whole.model().flat_params()).unwrap()
    );

    // a checkpoint refuses other data and damaged bytes
    let other = toy_split(200);
    let refused = Trainer::restore(&ckpt, &other, &device)
        .err()
        .expect("other data is refused")
        .to_string();
    assert!(refused.contains("digits"), "{refused}");
    let mut flipped = bytes.clone();
    let n = flipped.len();
    flipped[n - 20] ^= 1;
    assert!(Checkpoint::from_bytes(&flipped, "c")
        .unwrap_err()
        .to_string()
        .contains("checksum"));
    for cut in [0, 9, 15, n / 2, n - 1] {
        assert!(Checkpoint::from_bytes(&bytes[..cut], "c").is_err());
    }
}

#[test]
fn a_diverging_run_stops_at_the_step_and_keeps_the_last_good_weights() {
    let split = toy_split(600);
    let device = crate::device::cpu_device();
    let config = TrainingConfig::new(ArchSpec::preset("B").unwrap())
        .with_epochs(5)
        .with_lr(0.5)
        .with_seed(1);
    let mut t = Trainer::new(config, Start::Seed, &split, &device).unwrap();
    let start = crate::device::read_f32(t.model().flat_params()).unwrap();
    let err = loop {
        match guarded_epoch(&mut t) {
            Ok(_) => assert!(!t.is_done(), "lr 0.5 should not train cleanly"),
            Err(e) => break e.to_string(),
        }
    };
    assert!(
        err.contains("diverged in epoch") && err.contains("step") && err.contains("rolled back"),
        "{err}"
    );
    assert!(t.is_done());
    let kept = crate::device::read_f32(t.model().flat_params()).unwrap();
    if t.history.is_empty() {
        assert_eq!(kept, start);
    }
    assert!(kept.iter().all(|v| v.is_finite()));
}

#[test]
fn settings_out_of_range_are_refused() {
    let arch = || ArchSpec::preset("A").unwrap();
    for config in [
        TrainingConfig::new(arch()).with_epochs(0),
        TrainingConfig::new(arch()).with_epochs(crate::limits::MAX_EPOCHS + 1),
        TrainingConfig::new(arch()).with_batch(0),
        TrainingConfig::new(arch()).with_lr(f64::NAN),
        TrainingConfig::new(arch()).with_lr(1.5),
        TrainingConfig::new(arch()).with_limit(Some(0)),
        TrainingConfig::new(ArchSpec::new(vec![4096, 4096])),
    ] {
        assert!(config.validate().is_err(), "{config:?}");
    }
}
