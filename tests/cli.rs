//! The `vae` CLI's machine-readable forms, which other tools rely on, and its error messages.

use std::process::Command;

fn vae(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vae")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
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
    let (ok, out, err) = vae(&["eval", "--weights", "weights/C.bin", "--images", &images, "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["n"], 37);
    for key in ["nelbo", "rec", "kl"] {
        assert!(v[key].as_f64().unwrap().is_finite(), "{key}");
    }
    let (nelbo, rec, kl) = (v["nelbo"].as_f64().unwrap(), v["rec"].as_f64().unwrap(), v["kl"].as_f64().unwrap());
    assert!((nelbo - rec - kl).abs() < 1e-3);
    assert!(v["active_units"].as_u64().unwrap() <= 12);
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
    let (ok, _, err) = vae(&["eval", "--weights", "weights/A.bin", "--images", &bad_idx, "--json"]);
    assert!(!ok && err.contains("bad-idx3-ubyte") && err.contains("magic"), "{err}");
}

#[test]
fn shipped_weights_load_and_say_what_they_are() {
    for (name, params) in [("A", 29033), ("B", 52201), ("C", 103593), ("D", 100065), ("E", 100953)] {
        let (ok, out, err) = vae(&["info", "--weights", &format!("weights/{name}.bin"), "--json"]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["params"], params);
        assert_eq!(v["label"], name);
        assert_eq!(v["meta"]["epochs"], 100);
        assert_eq!(v["meta"]["history"].as_array().unwrap().len(), 100);
    }
}
