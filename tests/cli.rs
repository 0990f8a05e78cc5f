//! The `vae` CLI's machine-readable forms, which other tools rely on, and its error messages.

use std::process::Command;

fn vae(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn tmp(name: &str, bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("vae-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

/// An IDX image file of `n` blob digits, gzipped.
fn idx_gz(n: u32) -> Vec<u8> {
    use std::io::Write;
    let mut b = Vec::new();
    for v in [2051u32, n, 28, 28] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    for i in 0..n as usize {
        for p in 0..784 {
            let (x, y) = ((p % 28) as f32, (p / 28) as f32);
            let d = (x - 10.0 - (i % 7) as f32).powi(2) + (y - 14.0).powi(2);
            b.push((255.0 * (-d / 20.0).exp()) as u8);
        }
    }
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&b).unwrap();
    e.finish().unwrap()
}

#[test]
fn info_json_has_params() {
    let (ok, out, _) = vae(&["info", "--arch", "C", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["params"], 103593);
}

#[test]
fn eval_json_on_an_idx_gz_file() {
    let images = tmp("blobs-idx3-ubyte.gz", &idx_gz(37));
    let (ok, out, err) = vae(&[
        "eval",
        "--weights",
        "weights/C.bin",
        "--images",
        &images,
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["n"], 37);
    for key in ["nelbo", "rec", "kl"] {
        assert!(v[key].as_f64().unwrap().is_finite(), "{key}");
    }
    let (nelbo, rec, kl) = (
        v["nelbo"].as_f64().unwrap(),
        v["rec"].as_f64().unwrap(),
        v["kl"].as_f64().unwrap(),
    );
    assert!((nelbo - rec - kl).abs() < 1e-3);
    assert!(v["active_units"].as_u64().unwrap() <= 12);
}

#[test]
fn eval_estimates_the_likelihood_by_importance_sampling() {
    let images = tmp("blobs-iw-idx3-ubyte.gz", &idx_gz(23));
    let ll = |k: &str| {
        let (ok, out, err) = vae(&[
            "eval",
            "--weights",
            "weights/C.bin",
            "--images",
            &images,
            "--iw",
            k,
            "--json",
        ]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["importance_samples"].as_u64().unwrap().to_string(), k);
        v["log_likelihood"].as_f64().unwrap()
    };
    let (one, many) = (ll("1"), ll("200"));
    assert!(one.is_finite() && many.is_finite());
    // more samples tighten the bound (on 23 images the gain is far above the noise)
    assert!(many > one, "K=200 {many} vs K=1 {one}");
    refused(
        &[
            "eval",
            "--weights",
            "weights/C.bin",
            "--images",
            &images,
            "--iw",
            "0",
        ],
        "--iw",
    );
}

#[test]
fn train_refuses_a_negative_beta() {
    refused(
        &[
            "train",
            "--arch",
            "A",
            "--epochs",
            "1",
            "--beta=-1",
            "--out",
            "/tmp/never.bin",
        ],
        "beta",
    );
}

#[test]
fn bad_inputs_fail_with_a_message_naming_the_file() {
    let junk = tmp("junk.bin", b"this is not a weights file at all");
    let (ok, _, err) = vae(&["sample", "--weights", &junk, "--out", "/dev/null"]);
    assert!(!ok);
    assert!(err.contains("junk.bin") && err.contains("magic"), "{err}");

    let weights = std::fs::read("weights/A.bin").unwrap();
    let cut = tmp("cut.bin", &weights[..weights.len() - 1000]);
    let (ok, _, err) = vae(&["info", "--weights", &cut]);
    assert!(!ok && err.contains("truncated"), "{err}");

    let bad_idx = tmp("bad-idx3-ubyte", &[0, 0, 8, 1, 0, 0, 0, 0]);
    let (ok, _, err) = vae(&[
        "eval",
        "--weights",
        "weights/A.bin",
        "--images",
        &bad_idx,
        "--json",
    ]);
    assert!(
        !ok && err.contains("bad-idx3-ubyte") && err.contains("magic"),
        "{err}"
    );
}

/// `vae info --weights <path> --json`, which must succeed.
fn info_json(path: &str) -> serde_json::Value {
    let (ok, out, err) = vae(&["info", "--weights", path, "--json"]);
    assert!(ok, "{err}");
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn shipped_weights_load_and_say_what_they_are() {
    for (name, params) in [
        ("A", 29033),
        ("B", 52201),
        ("C", 103593),
        ("D", 100065),
        ("E", 100953),
    ] {
        let v = info_json(&format!("weights/{name}.bin"));
        assert_eq!(v["params"], params);
        assert_eq!(v["label"], name);
        assert_eq!(v["meta"]["epochs"], 100);
        assert_eq!(v["meta"]["history"].as_array().unwrap().len(), 100);
        // the Fashion-MNIST models: the same architectures, trained on their own dataset
        let v = info_json(&format!("weights/fashion/{name}.bin"));
        assert_eq!(v["params"], params);
        assert_eq!(v["meta"]["epochs"], 100);
        let dataset = v["meta"]["dataset"].as_str().unwrap();
        assert!(dataset.starts_with("fashion-subset"), "{dataset}");
    }
    // the two-latent model beside them (MNIST only): C's widths, dim z = 2
    let v = info_json("weights/C2.bin");
    assert_eq!(v["params"], 101_653);
    assert_eq!(v["label"], "C2");
    assert_eq!(v["arch"]["hidden"], serde_json::json!([64]));
    assert_eq!(v["arch"]["latent"], 2);
    assert_eq!(v["meta"]["epochs"], 100);
    assert_eq!(v["meta"]["history"].as_array().unwrap().len(), 100);
}

/// IDX labels 0..9 cycling, gzipped.
fn idx_labels_gz(n: u32) -> Vec<u8> {
    use std::io::Write;
    let mut b = Vec::new();
    for v in [2049u32, n] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend((0..n).map(|i| (i % 10) as u8));
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&b).unwrap();
    e.finish().unwrap()
}

#[test]
fn data_builds_a_fashion_subset_that_training_names() {
    // a stand-in for Debian's folder: its two training files under their names
    let images = tmp("train-images-idx3-ubyte.gz", &idx_gz(200));
    tmp("train-labels-idx1-ubyte.gz", &idx_labels_gz(200));
    let dir = std::path::Path::new(&images).parent().unwrap().to_owned();
    let out = dir.join("fashion-subset.bin").display().to_string();
    let (ok, stdout, err) = vae(&[
        "data",
        "--fashion",
        &dir.display().to_string(),
        "--size",
        "100",
        "--test",
        "20",
        "--out",
        &out,
    ]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("80 train + 20 test images of Fashion-MNIST"),
        "{stdout}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fashion-subset.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["name"], "fashion");
    assert_eq!(manifest["classes"][9], "Ankle boot");
    assert_eq!(manifest["train"]["digits"], 80);
    assert_eq!(manifest["test"]["file"], "fashion-subset-test.bin");
    // each class keeps its share of the sample (10 classes x 10 images)
    let bytes = std::fs::read(&out).unwrap();
    let labels = &bytes[24..124];
    for class in 0..10u8 {
        assert_eq!(labels.iter().filter(|&&l| l == class).count(), 10);
    }
    // a model trained on it says so in its weights file (from the manifest beside the data)
    let model = dir.join("fashion-A.bin").display().to_string();
    let (ok, _, err) = vae(&[
        "train", "--arch", "A", "--epochs", "1", "--data", &out, "--out", &model,
    ]);
    assert!(ok, "{err}");
    let v = info_json(&model);
    assert!(
        v["meta"]["dataset"]
            .as_str()
            .unwrap()
            .starts_with("fashion-subset"),
        "{v}"
    );
}

/// Clap's usage error (exit 2), never a panic (exit 101) or an abort.
fn refused(args: &[&str], needle: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(1) | Some(2)),
        "{args:?}: exit {:?}: {err}",
        out.status.code()
    );
    assert!(err.contains(needle), "{args:?}: {err}");
}

#[test]
fn zero_and_absurd_counts_are_refused_clearly() {
    let out = tmp("never.png", b"");
    for cmd in ["sample", "reconstruct", "chain"] {
        refused(
            &[cmd, "--weights", "weights/A.bin", "-n", "0", "--out", &out],
            "0 is not in 1..=",
        );
    }
    refused(
        &["collapse", "--weights", "weights/A.bin", "-n", "0"],
        "0 is not in 1..=",
    );
    refused(
        &[
            "sample",
            "--weights",
            "weights/A.bin",
            "-n",
            "1000000000",
            "--out",
            &out,
        ],
        "is not in 1..=10000",
    );
    refused(
        &[
            "chain",
            "--weights",
            "weights/A.bin",
            "--steps",
            "1000000",
            "--out",
            &out,
        ],
        "is not in 1..=100000",
    );
}

#[test]
fn a_fifo_is_refused_instead_of_blocking() {
    let dir = std::env::temp_dir().join(format!("vae-cli-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("weights.fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    refused(
        &["info", "--weights", fifo.to_str().unwrap()],
        "not a regular file",
    );
    refused(
        &[
            "eval",
            "--weights",
            "weights/C.bin",
            "--images",
            fifo.to_str().unwrap(),
        ],
        "not a regular file",
    );
}

/// weights/A.bin with every parameter replaced by `value`, checksum recomputed.
fn forged_a(value: f32) -> Vec<u8> {
    let mut b = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/weights/A.bin")).unwrap();
    let header = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
    let n = b.len();
    for o in (12 + header + 4..n - 8).step_by(4) {
        b[o..o + 4].copy_from_slice(&value.to_le_bytes());
    }
    let sum = b[..n - 8].iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ x as u64).wrapping_mul(0x0100_0000_01b3)
    });
    b[n - 8..].copy_from_slice(&sum.to_le_bytes());
    b
}

#[test]
fn weights_that_compute_nan_are_refused_not_evaluated_to_nan() {
    let path = tmp("huge.bin", &forged_a(3.4e38));
    refused(
        &[
            "eval",
            "--weights",
            &path,
            "--images",
            &tmp("b.gz", &idx_gz(3)),
        ],
        "non-finite nELBO",
    );
    refused(&["sample", "--weights", &path], "non-finite nELBO");
    // the header can still be shown (info builds no model)
    let (ok, out, err) = vae(&["info", "--weights", &path, "--json"]);
    assert!(ok && out.contains("\"params\":29033"), "{err}");
}

#[test]
fn a_long_chain_streams_its_frames() {
    let gif = tmp("long.gif", b"");
    let last = tmp("long-last.png", b"");
    let (ok, out, err) = vae(&[
        "chain",
        "--weights",
        "weights/A.bin",
        "-n",
        "2",
        "--steps",
        "300",
        "--out",
        &gif,
        "--last",
        &last,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("301 frames"), "{out}");
    assert!(std::fs::metadata(&gif).unwrap().len() > 1000);
}

#[test]
fn bench_prints_a_json_line_per_architecture() {
    let (ok, out, err) = vae(&["bench", "--arch", "A,B", "--steps", "3", "--json"]);
    assert!(ok, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|l| l["ms_per_step"].as_f64().unwrap() > 0.0 && l["backend"] == "cpu"));
    refused(&["bench", "--backend", "tpu"], "invalid value 'tpu'");
}

// --- what the CLI writes: atomically, and never over a file it was not told to replace ---

const BIN: &str = env!("CARGO_BIN_EXE_vae");

/// A fresh, empty folder for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vae-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn shipped_a() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/weights/A.bin")).unwrap()
}

/// `train` arguments for a fast run: `n_train` and `n_test` blob digits as IDX files in `dir`,
/// one epoch.
fn tiny_train(dir: &std::path::Path, n_train: u32, n_test: u32) -> Vec<String> {
    let train = dir.join("train-idx3-ubyte.gz");
    let test = dir.join("test-idx3-ubyte.gz");
    std::fs::write(&train, idx_gz(n_train)).unwrap();
    std::fs::write(&test, idx_gz(n_test)).unwrap();
    let path = |p: std::path::PathBuf| p.display().to_string();
    [
        "train",
        "--train-images",
        &path(train),
        "--test-images",
        &path(test),
        "--epochs",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

/// No `.NAME.tmp-PID` file left in `dir`.
fn assert_no_temporary_files(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "{name} left in {}", dir.display());
    }
}

#[test]
fn a_train_killed_while_writing_leaves_the_old_file_or_the_whole_new_one() {
    let dir = scratch("kill");
    let original = shipped_a();
    let target = dir.join("big.bin");
    std::fs::write(&target, &original).unwrap();
    let before = std::fs::metadata(&target).unwrap().modified().unwrap();
    // a 4.3M-parameter model: 17 MB to write, a wide window for the kill (`--out` names the
    // file, which is what allows replacing it)
    let mut args = tiny_train(&dir, 64, 8);
    args.extend(["--hidden", "1200,1000", "--out"].map(String::from));
    args.push(target.display().to_string());
    let mut child = Command::new(BIN)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // SIGKILL the moment it starts writing: the target changes or a temporary file appears
    let started = std::time::Instant::now();
    loop {
        let changed = std::fs::metadata(&target)
            .map(|m| m.len() != original.len() as u64 || m.modified().unwrap() != before)
            .unwrap_or(true);
        let writing = std::fs::read_dir(&dir)
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().contains(".tmp-"));
        if changed || writing || child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "the run never wrote");
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    child.kill().unwrap_or(()); // SIGKILL (an error only if it had exited already)
    child.wait().unwrap();
    if std::fs::read(&target).unwrap() != original {
        let v = info_json(&target.display().to_string());
        assert_eq!(v["arch"]["hidden"], serde_json::json!([1200, 1000]));
    }
}

#[test]
fn a_failed_write_keeps_the_old_file_and_removes_its_temporary_file() {
    let dir = scratch("ulimit");
    let original = shipped_a();
    let target = dir.join("A.bin");
    std::fs::write(&target, &original).unwrap();
    let mut args = tiny_train(&dir, 64, 8);
    args.extend(["--arch", "A", "--out"].map(String::from));
    args.push(target.display().to_string());
    // files of at most 32-64 KB (sh counts 512- or 1024-byte blocks); A.bin is 116 KB. With
    // SIGXFSZ ignored, the write fails with EFBIG instead of killing the process.
    let out = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(&args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("cannot write") && err.contains("A.bin"),
        "{err}"
    );
    assert!(std::fs::read(&target).unwrap() == original, "A.bin changed");
    assert_no_temporary_files(&dir);
}

#[test]
fn train_without_out_writes_to_runs_and_leaves_the_shipped_weights_alone() {
    let dir = scratch("default-out");
    let original = shipped_a();
    std::fs::create_dir_all(dir.join("weights")).unwrap();
    std::fs::write(dir.join("weights/A.bin"), &original).unwrap();
    let mut args = tiny_train(&dir, 64, 8);
    args.extend(["--arch", "A", "--limit", "1"].map(String::from));
    let out = Command::new(BIN)
        .args(&args)
        .current_dir(&dir)
        .output()
        .unwrap();
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{err}");
    assert!(stdout.contains("runs/A.bin"), "{stdout}");
    assert!(std::fs::read(dir.join("weights/A.bin")).unwrap() == original);
    assert_eq!(
        info_json(&dir.join("runs/A.bin").display().to_string())["label"],
        "A"
    );
    assert_no_temporary_files(&dir.join("runs"));
}

#[test]
fn an_existing_file_in_out_dir_is_replaced_only_with_force() {
    let dir = scratch("force");
    let original = shipped_a();
    let out_dir = dir.join("models");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("A.bin"), &original).unwrap();
    let mut args = tiny_train(&dir, 64, 8);
    args.extend(["--arch", "A", "--out-dir"].map(String::from));
    args.push(out_dir.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(&args, "--force");
    assert!(std::fs::read(out_dir.join("A.bin")).unwrap() == original);
    let (ok, _, err) = vae(&[&args[..], &["--force"]].concat());
    assert!(ok, "{err}");
    assert!(std::fs::read(out_dir.join("A.bin")).unwrap() != original);
    assert_eq!(
        info_json(&out_dir.join("A.bin").display().to_string())["meta"]["epochs"],
        1
    );
    assert_no_temporary_files(&out_dir);
}

#[test]
fn data_refuses_to_hold_out_nothing_and_train_refuses_such_a_set() {
    let dir = scratch("no-held-out");
    std::fs::write(dir.join("train-images-idx3-ubyte.gz"), idx_gz(100)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte.gz"), idx_labels_gz(100)).unwrap();
    let d = dir.display().to_string();
    let out = dir.join("set.bin").display().to_string();
    refused(
        &[
            "data",
            "--fashion",
            &d,
            "--size",
            "50",
            "--test",
            "0",
            "--out",
            &out,
        ],
        "--test 0 would hold out no images",
    );
    assert!(!dir.join("set.bin").exists());
    // a set without held-out images from elsewhere: an IDX file of none
    let mut args = tiny_train(&dir, 64, 0);
    args.extend(["--arch", "A", "--out"].map(String::from));
    args.push(dir.join("never.bin").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(&args, "no held-out images");
    assert!(!dir.join("never.bin").exists());
}

#[test]
fn garbled_hidden_widths_are_refused() {
    for hidden in ["60,,32", "60,32,", ",60", "60;32"] {
        refused(&["info", "--hidden", hidden], "--hidden");
        refused(
            &["train", "--hidden", hidden, "--out", "/tmp/never.bin"],
            "--hidden",
        );
    }
    // "" is still no hidden layer
    let (ok, out, err) = vae(&["info", "--hidden", "", "--latent", "2", "--json"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"hidden\":[]"), "{out}");
}

#[test]
fn a_diverging_run_says_so_and_suggests_a_smaller_learning_rate() {
    let dir = scratch("diverge");
    let mut args = tiny_train(&dir, 640, 8);
    args.extend(["--arch", "C", "--lr", "0.99", "--out"].map(String::from));
    args.push(dir.join("never.bin").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = vae(&args);
    assert!(!ok);
    assert!(
        err.contains("training diverged") && err.contains("smaller learning rate"),
        "{err}"
    );
    assert!(
        err.contains("--lr 0.99") && !err.contains("steps' is"),
        "{err}"
    );
    assert!(!dir.join("never.bin").exists());
}

// --- issue 18 item 11: the CLI's rough edges ---

#[test]
fn train_outside_the_repository_says_where_it_looked_and_names_data() {
    let dir = scratch("no-data");
    let out = Command::new(BIN)
        .args(["train", "--arch", "A", "--epochs", "1"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("www/data/mnist-subset.bin")
            && err.contains(&dir.display().to_string())
            && err.contains("--data PATH")
            && err.contains("vae data"),
        "{err}"
    );
    assert!(!dir.join("runs").exists());
}

#[test]
fn every_flag_of_every_subcommand_has_help() {
    for cmd in [
        "info",
        "data",
        "train",
        "eval",
        "sample",
        "reconstruct",
        "chain",
        "collapse",
        "report",
        "bench",
    ] {
        let (ok, out, err) = vae(&[cmd, "-h"]);
        assert!(ok, "{cmd}: {err}");
        for line in out.lines().filter(|l| l.trim_start().starts_with('-')) {
            // "  -n, --n <N>  Digits ... [default: 60]": what follows the flag and its value,
            // less clap's own [default: ..] and [possible values: ..]
            let rest = line.trim_start();
            let help = rest.split_once("  ").map_or("", |(_, h)| h);
            let said = help
                .split('[')
                .map(|p| p.split_once(']').map_or(p, |(_, after)| after))
                .collect::<String>();
            assert!(
                !said.trim().is_empty(),
                "vae {cmd}: no help for `{}`",
                rest.trim()
            );
        }
    }
}

#[test]
fn missing_output_folders_are_created_and_one_that_cannot_be_is_named() {
    let dir = scratch("out-folders");
    let png = dir.join("new/deeper/samples.png");
    let (ok, _, err) = vae(&[
        "sample",
        "--weights",
        "weights/A.bin",
        "-n",
        "2",
        "--out",
        &png.display().to_string(),
    ]);
    assert!(ok, "{err}");
    assert!(png.is_file());
    let mut args = tiny_train(&dir, 64, 8);
    args.extend(["--arch", "A", "--out-dir"].map(String::from));
    args.push(dir.join("models/today").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = vae(&args);
    assert!(ok, "{err}");
    assert!(dir.join("models/today/A.bin").is_file());
    // a folder below a file cannot be made: the message names it
    std::fs::write(dir.join("plain-file"), b"x").unwrap();
    let below = dir.join("plain-file/report");
    let empty = dir.join("no-weights");
    std::fs::create_dir_all(&empty).unwrap();
    let (ok, _, err) = vae(&[
        "report",
        "--weights-dir",
        &empty.display().to_string(),
        "--out",
        &below.display().to_string(),
    ]);
    assert!(!ok);
    assert!(err.contains(&below.display().to_string()), "{err}");
}

#[test]
fn reconstruct_uses_the_dataset_the_weights_were_trained_on() {
    let dir = scratch("fashion-reconstruct");
    let run = |images: Option<&str>, name: &str| {
        let out = dir.join(name).display().to_string();
        let mut args = vec![
            "reconstruct",
            "--weights",
            "weights/fashion/C.bin",
            "-n",
            "4",
            "--out",
            &out,
        ];
        if let Some(images) = images {
            args.extend(["--images", images]);
        }
        let (ok, stdout, err) = vae(&args);
        assert!(ok, "{err}");
        (std::fs::read(dir.join(name)).unwrap(), stdout, err)
    };
    let (default, stdout, err) = run(None, "default.png");
    assert!(stdout.contains("fashion-subset"), "{stdout}");
    assert!(!err.contains("note"), "{err}");
    let (fashion, _, _) = run(Some("www/data/fashion-subset.bin"), "fashion.png");
    assert!(default == fashion, "the default is not Fashion-MNIST");
    // MNIST digits only when asked for, and then with a note
    let (mnist, _, err) = run(Some("www/data/mnist-subset.bin"), "mnist.png");
    assert!(mnist != fashion);
    assert!(
        err.contains("note") && err.contains("fashion-subset") && err.contains("mnist-subset"),
        "{err}"
    );
    // the same for eval and collapse
    let (ok, out, err) = vae(&["eval", "--weights", "weights/fashion/C.bin", "--json"]);
    assert!(ok, "{err}");
    let nelbo = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["nelbo"]
        .as_f64()
        .unwrap();
    assert!(nelbo < 0.0, "fashion C on its own held-out images: {nelbo}");
    let (ok, out, err) = vae(&["collapse", "--weights", "weights/fashion/C.bin", "-n", "20"]);
    assert!(ok && out.contains("fashion-subset"), "{out}{err}");
}

#[test]
fn the_training_rate_is_images_per_second_to_one_decimal_at_most() {
    let dir = scratch("rate");
    let mut args = tiny_train(&dir, 200, 8);
    args.extend(["--arch", "A", "--out-dir"].map(String::from));
    args.push(dir.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = vae(&args);
    assert!(ok, "{err}");
    // no terminal here: one line per epoch instead of the bar
    let line = err
        .lines()
        .find(|l| l.contains("images/s"))
        .unwrap_or_else(|| panic!("no rate line in {err}"));
    let rate = line
        .trim_end_matches(" images/s")
        .rsplit(' ')
        .next()
        .unwrap();
    let decimals = rate.split_once('.').map_or(0, |(_, d)| d.len());
    assert!(decimals <= 1 && rate.parse::<f64>().is_ok(), "{line}");
}
