//! The self-describing weights file.
//!
//! Layout (all integers little-endian):
//! `VAELABW1` | u32 header length | header JSON | u32 parameter count | f32 × count | u64 FNV-1a
//! of every byte before it. The header records the architecture and how the weights were made, so
//! a file loaded into the wrong architecture, a truncated file or random bytes is refused with a
//! message saying which.

use serde::{Deserialize, Serialize};

pub use crate::config::WeightsMeta;
use crate::config::{ArchSpec, PIXELS};
use crate::error::VaeError;
use crate::format::{self, write_framed, HEADER_AT};
use crate::limits::MAX_PARAMS;

pub const WEIGHTS_MAGIC: &[u8; 8] = b"VAELABW1";
const MAX_HEADER: usize = crate::limits::MAX_WEIGHTS_HEADER_BYTES;

#[derive(Serialize)]
struct Header<'a> {
    format: u32,
    arch: &'a ArchSpec,
    params: u64,
    meta: &'a WeightsMeta,
}

/// The header as read: the metadata stays loose until [`WeightsMeta::lenient`] sorts it.
#[derive(Deserialize)]
struct RawHeader {
    format: u32,
    arch: ArchSpec,
    params: u64,
    #[serde(default)]
    meta: serde_json::Value,
}

/// Fixed probe inputs: blank, full, a ramp, and noise (4 x 784 pixels). Weights that turn any of
/// them into a non-finite nELBO (say, every weight at 3.4e38, which passes every other check) are
/// refused.
fn probe_pixels() -> (Vec<f32>, crate::rng::Rng) {
    let mut rng = crate::rng::Rng::new(0x9e0b);
    let mut x = vec![0.0f32; PIXELS];
    x.extend(std::iter::repeat_n(1.0f32, PIXELS));
    x.extend((0..PIXELS).map(|i| i as f32 / (PIXELS - 1) as f32));
    x.extend((0..PIXELS).map(|_| rng.uniform() as f32));
    (x, rng)
}

/// A weights file in memory: architecture, metadata and the flat parameter vector.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightsFile {
    pub arch: ArchSpec,
    pub meta: WeightsMeta,
    pub params: Vec<f32>,
}

impl WeightsFile {
    /// Pair a model's parameters (already read back with [`Vae::flat_params`]) with metadata.
    pub fn new(arch: ArchSpec, meta: WeightsMeta, params: Vec<f32>) -> Result<Self, VaeError> {
        arch.validate()?;
        if params.len() != arch.param_count() {
            return Err(VaeError::Invalid(format!(
                "{} parameters for architecture {}",
                params.len(),
                arch.label()
            )));
        }
        Ok(Self { arch, meta, params })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&Header {
            format: 1,
            arch: &self.arch,
            params: self.params.len() as u64,
            meta: &self.meta,
        })
        .expect("header serialises");
        write_framed(WEIGHTS_MAGIC, &header, &self.params)
    }

    /// Parse and check a weights file; `name` only appears in error messages. Nothing is
    /// allocated in proportion to what the file claims before the claim is checked.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self, VaeError> {
        let (arch, meta, data_at) = Self::parse_header(bytes, name)?;
        let bad = |why: String| VaeError::Weights {
            file: name.to_string(),
            why,
        };
        let count = arch.param_count();
        let total = data_at + 4 * count + 8;
        if bytes.len() != total {
            return Err(bad(format!(
                "{} bytes, expected {total}: the file is truncated or has trailing bytes",
                bytes.len()
            )));
        }
        if !format::checksum_ok(bytes) {
            return Err(bad("checksum mismatch: the file is corrupt".into()));
        }
        let params = format::floats(&bytes[data_at..total - 8]);
        if params.iter().any(|p| !p.is_finite()) {
            return Err(bad("parameters contain NaN or infinity".into()));
        }
        Ok(Self { arch, meta, params })
    }

    /// The architecture and metadata, without reading the parameters (`vae info`), plus where
    /// the parameters start. Checks the header and the parameter count against the limits.
    pub fn parse_header(
        bytes: &[u8],
        name: &str,
    ) -> Result<(ArchSpec, WeightsMeta, usize), VaeError> {
        let bad = |why: String| VaeError::Weights {
            file: name.to_string(),
            why,
        };
        if bytes.len() < 8 || &bytes[..8] != WEIGHTS_MAGIC {
            return Err(bad(
                "not a VAE Lab weights file (magic VAELABW1 missing)".into()
            ));
        }
        let u32_at = |i: usize| -> Result<usize, VaeError> {
            format::u32_at(bytes, i).ok_or_else(|| bad(format!("truncated: {} bytes", bytes.len())))
        };
        let header_len = u32_at(8)?;
        if header_len > MAX_HEADER || header_len > bytes.len().saturating_sub(HEADER_AT) {
            return Err(bad(format!(
                "truncated or corrupt header ({} bytes, header says {header_len})",
                bytes.len()
            )));
        }
        let header: RawHeader = serde_json::from_slice(&bytes[HEADER_AT..HEADER_AT + header_len])
            .map_err(|e| bad(format!("corrupt header: {e}")))?;
        if header.format != 1 {
            return Err(bad(format!(
                "format version {} is newer than this app (1)",
                header.format
            )));
        }
        header.arch.validate().map_err(|e| bad(e.to_string()))?;
        let expected = header.arch.param_count();
        if expected > MAX_PARAMS {
            return Err(bad(format!(
                "architecture {} has {expected} parameters; VAE Lab loads at most {MAX_PARAMS}",
                header.arch.label()
            )));
        }
        let count_at = HEADER_AT + header_len;
        let count = u32_at(count_at)?;
        if count != expected || header.params != expected as u64 {
            return Err(bad(format!(
                "architecture {} needs {expected} parameters but the file holds {count}",
                header.arch.label()
            )));
        }
        Ok((header.arch, WeightsMeta::lenient(header.meta), count_at + 4))
    }

    /// [`WeightsFile::from_bytes`], then the probe: the model must give a finite nELBO on fixed
    /// inputs. Every load of a user's file goes through here.
    pub fn load(bytes: &[u8], name: &str) -> Result<Self, VaeError> {
        let file = Self::from_bytes(bytes, name)?;
        file.probe().map_err(|why| VaeError::Weights {
            file: name.to_string(),
            why,
        })?;
        Ok(file)
    }

    /// A weights file from disk, checked like [`WeightsFile::load`] (regular files only, capped
    /// size; see [`crate::files::read_file`]).
    pub fn read(path: &std::path::Path) -> Result<Self, VaeError> {
        Self::load(&crate::files::read_file(path)?, &path.display().to_string())
    }

    /// Run the probe images through the model on the host copy, by the plain-Rust inference path
    /// (`infer::DenseVae`, checked against burn's forward pass): no GPU readback, and in the
    /// browser none of burn's code to compile before the first model is in (a page's first
    /// weights file took 76 ms through burn, most of it compiling burn's wasm on first use).
    pub fn probe(&self) -> Result<(), String> {
        let dense =
            crate::infer::DenseVae::new(&self.arch, &self.params).map_err(|e| e.to_string())?;
        let (x, mut rng) = probe_pixels();
        let mut nelbo = 0.0f64;
        for image in x.chunks(PIXELS) {
            let eps = rng.normals(dense.latent());
            nelbo += dense.inside(image, &eps).nelbo / 4.0;
        }
        if !nelbo.is_finite() {
            return Err(format!("the weights give a non-finite nELBO ({nelbo}) on test inputs: they are not a usable model"));
        }
        Ok(())
    }

    /// The parameters, refusing a file made for another architecture than `expected`.
    pub fn params_for(&self, expected: &ArchSpec) -> Result<&[f32], VaeError> {
        if &self.arch != expected {
            return Err(VaeError::Invalid(format!(
                "these weights are for architecture {} (hidden {:?}, latent {}), not {} (hidden {:?}, latent {})",
                self.arch.label(),
                self.arch.hidden,
                self.arch.latent,
                expected.label(),
                expected.hidden,
                expected.latent
            )));
        }
        Ok(&self.params)
    }

    pub fn sigma(&self) -> f32 {
        self.params.last().copied().unwrap_or(0.0).exp()
    }
}

#[cfg(all(test, feature = "engine"))]
mod tests {
    use super::*;
    use crate::format::fnv1a;
    use burn::prelude::*;

    /// The report's linear decoder output is part of the architecture: it survives the file, and
    /// the loaded model decodes exactly like the saved one (values outside [0, 1] included).
    #[test]
    fn a_linear_output_model_round_trips_through_its_weights_file() {
        use crate::model::DecoderOutput;
        let device = crate::device::cpu_device();
        let spec = ArchSpec::preset("B")
            .unwrap()
            .with_output(DecoderOutput::Linear);
        let model = spec.init(&device, 4);
        let bytes = WeightsFile::from_model(&model, WeightsMeta::default())
            .unwrap()
            .to_bytes();
        let back = WeightsFile::from_bytes(&bytes, "linear.bin").unwrap();
        assert_eq!(back.arch.output, DecoderOutput::Linear);
        assert_eq!(back.arch.label(), "B-linear");
        let z = Tensor::<2>::from_data(
            TensorData::new(crate::rng::Rng::new(2).normals(3 * 12), [3, 12]),
            &device,
        );
        let a = crate::device::read_f32(model.decode(z.clone())).unwrap();
        let b = crate::device::read_f32(back.to_model(&device).unwrap().decode(z.clone())).unwrap();
        assert_eq!(a, b);
        assert!(
            a.iter().any(|v| *v < 0.0),
            "a linear output is not squashed into (0, 1)"
        );
        // the fast path agrees
        let dense = crate::infer::DenseVae::new(&back.arch, &back.params).unwrap();
        let fast = dense.decode(&crate::device::read_f32(z).unwrap(), 3);
        assert!(a.iter().zip(&fast).all(|(x, y)| (x - y).abs() < 1e-4));
    }

    /// Files written before the output existed (the shipped ones) read as sigmoid, and a sigmoid
    /// model's header has no output field, so those files read and write exactly as before.
    #[test]
    fn sigmoid_is_the_default_and_is_not_written() {
        let shipped = WeightsFile::read(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/weights/C.bin"
        )))
        .unwrap();
        assert_eq!(shipped.arch.output, crate::model::DecoderOutput::Sigmoid);
        let json = serde_json::to_string(&shipped.arch).unwrap();
        assert!(!json.contains("output"), "{json}");
        let linear = serde_json::to_string(
            &shipped
                .arch
                .clone()
                .with_output(crate::model::DecoderOutput::Linear),
        )
        .unwrap();
        assert!(linear.contains(r#""output":"linear""#), "{linear}");
    }

    fn file(arch: &str) -> WeightsFile {
        let device = crate::device::cpu_device();
        let model = ArchSpec::preset(arch).unwrap().init(&device, 9);
        let meta = WeightsMeta {
            dataset: Some("test".into()),
            epochs: Some(3),
            ..Default::default()
        };
        WeightsFile::from_model(&model, meta).unwrap()
    }

    #[test]
    fn round_trip_is_exact() {
        let device = crate::device::cpu_device();
        let f = file("D");
        let bytes = f.to_bytes();
        let back = WeightsFile::from_bytes(&bytes, "D.bin").unwrap();
        assert_eq!(back, f);
        let model = back.to_model(&device).unwrap();
        assert_eq!(
            crate::device::read_f32(model.flat_params()).unwrap(),
            f.params
        );
        assert_eq!(
            WeightsFile::from_model(&model, f.meta.clone())
                .unwrap()
                .to_bytes(),
            bytes
        );
    }

    #[test]
    fn refuses_wrong_arch_truncation_corruption_and_noise() {
        let device = crate::device::cpu_device();
        let f = file("C");
        let bytes = f.to_bytes();
        let e = f
            .to_model_of(&ArchSpec::preset("D").unwrap(), &device)
            .unwrap_err()
            .to_string();
        assert!(e.contains("architecture C") && e.contains("not D"), "{e}");

        let e = WeightsFile::from_bytes(&bytes[..bytes.len() / 2], "half.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("half.bin") && e.contains("truncated"), "{e}");
        for cut in [4, 10, 30] {
            assert!(WeightsFile::from_bytes(&bytes[..cut], "c").is_err());
        }

        let mut flipped = bytes.clone();
        let n = flipped.len();
        flipped[n - 100] ^= 0x40;
        let e = WeightsFile::from_bytes(&flipped, "flip.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("checksum"), "{e}");

        let mut rng = crate::rng::Rng::new(5);
        let noise: Vec<u8> = (0..bytes.len()).map(|_| rng.next_u64() as u8).collect();
        let e = WeightsFile::from_bytes(&noise, "noise.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("noise.bin") && e.contains("magic"), "{e}");

        // a valid header that claims another architecture than its payload
        let mut lying = file("A");
        lying.arch = ArchSpec::preset("B").unwrap();
        let forged = WeightsFile {
            params: f.params[..29033].to_vec(),
            ..lying
        }
        .to_bytes();
        let e = WeightsFile::from_bytes(&forged, "forged.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("52201"), "{e}");
    }

    /// A file with `header` (JSON) and `count` parameters of value `value`, checksum valid.
    fn forge(header: &str, count: u32, value: f32) -> Vec<u8> {
        let mut out = WEIGHTS_MAGIC.to_vec();
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        for _ in 0..count {
            out.extend_from_slice(&value.to_le_bytes());
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    #[test]
    fn huge_weights_that_pass_the_checksum_are_refused_by_the_probe() {
        let header = r#"{"format":1,"arch":{"hidden":[],"latent":12},"params":29033,"meta":{}}"#;
        let bytes = forge(header, 29033, 3.4e38);
        assert!(
            WeightsFile::from_bytes(&bytes, "big.bin").is_ok(),
            "finite, so the parser alone accepts it"
        );
        let e = WeightsFile::load(&bytes, "big.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("big.bin") && e.contains("non-finite"), "{e}");
        assert!(WeightsFile::load(&file("A").to_bytes(), "ok.bin").is_ok());
    }

    #[test]
    fn parameter_counts_are_capped_before_anything_is_allocated() {
        // 2 layers of 4096: 784*4096*2 + 4096*4096*2 + ... > 5M parameters; the file is tiny
        let header =
            r#"{"format":1,"arch":{"hidden":[4096,4096],"latent":12},"params":40000000,"meta":{}}"#;
        let e = WeightsFile::from_bytes(&forge(header, 0, 0.0), "huge.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 5000000"), "{e}");
    }

    #[test]
    fn metadata_is_fixed_width_and_lenient() {
        let params = file("A").params;
        let with_meta = |meta: &str| {
            let header = format!(
                r#"{{"format":1,"arch":{{"hidden":[],"latent":12}},"params":29033,"meta":{meta}}}"#
            );
            let mut out = forge(&header, 0, 0.0);
            out.truncate(out.len() - 12); // drop count and checksum; rebuild with real params
            out.extend_from_slice(&29033u32.to_le_bytes());
            params
                .iter()
                .for_each(|p| out.extend_from_slice(&p.to_le_bytes()));
            let sum = fnv1a(&out);
            out.extend_from_slice(&sum.to_le_bytes());
            WeightsFile::from_bytes(&out, "m.bin")
        };
        // 2^32 epochs: u64 on every platform, so the 32-bit wasm engine reads it like the CLI
        assert_eq!(
            with_meta(r#"{"epochs":4294967296}"#).unwrap().meta.epochs,
            Some(1 << 32)
        );
        // malformed optional fields are dropped, the rest is kept
        let m = with_meta(r#"{"epochs":"many","history":[{"epoch":-1}],"seed":7,"dataset":["x"]}"#)
            .unwrap()
            .meta;
        assert_eq!(
            (m.epochs, m.history, m.seed, m.dataset),
            (None, None, Some(7), None)
        );
        assert_eq!(with_meta("42").unwrap().meta, WeightsMeta::default());
        assert!(with_meta("{}").is_ok());
    }
}
