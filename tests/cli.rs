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
