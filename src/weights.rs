//! The self-describing weights file.
//!
//! Layout (all integers little-endian):
//! `VAELABW1` | u32 header length | header JSON | u32 parameter count | f32 × count | u64 FNV-1a
//! of every byte before it. The header records the architecture and how the weights were made, so
//! a file loaded into the wrong architecture, a truncated file or random bytes is refused with a
//! message saying which.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{ArchSpec, Vae};
use crate::VaeError;

pub const WEIGHTS_MAGIC: &[u8; 8] = b"VAELABW1";
const MAX_HEADER: usize = 1 << 20;

/// How a weights file was made. Every field is optional so that a model trained in the browser
/// (or by a future version) can leave out what it does not know.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeightsMeta {
    pub dataset: Option<String>,
    pub epochs: Option<usize>,
    pub seed: Option<u64>,
    pub lr: Option<f64>,
    pub batch: Option<usize>,
    pub train_nelbo: Option<f64>,
    pub train_kl: Option<f64>,
    pub train_rec: Option<f64>,
    pub test_nelbo: Option<f64>,
    pub test_kl: Option<f64>,
    pub sigma: Option<f64>,
    pub active_units: Option<usize>,
    pub train_seconds: Option<f64>,
    pub created_by: Option<String>,
    /// Per-epoch training curve (the report's Fig. 1-2), if the file was made by training.
    pub history: Option<Vec<crate::training::EpochRecord>>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    arch: ArchSpec,
    params: usize,
    meta: WeightsMeta,
}

/// A weights file in memory: architecture, metadata and the flat parameter vector.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightsFile {
    pub arch: ArchSpec,
    pub meta: WeightsMeta,
    pub params: Vec<f32>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

impl WeightsFile {
    /// Pair a model's parameters (already read back with [`Vae::flat_params`]) with metadata.
    pub fn new(arch: ArchSpec, meta: WeightsMeta, params: Vec<f32>) -> Result<Self, VaeError> {
        arch.validate()?;
        if params.len() != arch.param_count() {
            return Err(VaeError::Invalid(format!("{} parameters for architecture {}", params.len(), arch.label())));
        }
        Ok(Self { arch, meta, params })
    }

    /// Native convenience: read the model back synchronously.
    pub fn from_model(model: &Vae, meta: WeightsMeta) -> Result<Self, VaeError> {
        let params = crate::read_f32(model.flat_params())?;
        Self::new(model.arch(), meta, params)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&Header {
            format: 1,
            arch: self.arch.clone(),
            params: self.params.len(),
            meta: self.meta.clone(),
        })
        .expect("header serialises");
        let mut out = Vec::with_capacity(24 + header.len() + 4 * self.params.len());
        out.extend_from_slice(WEIGHTS_MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&(self.params.len() as u32).to_le_bytes());
        for p in &self.params {
            out.extend_from_slice(&p.to_le_bytes());
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Parse and check a weights file; `name` only appears in error messages.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self, VaeError> {
        let bad = |why: String| VaeError::Weights { file: name.to_string(), why };
        if bytes.len() < 8 || &bytes[..8] != WEIGHTS_MAGIC {
            return Err(bad("not a VAE Lab weights file (magic VAELABW1 missing)".into()));
        }
        let u32_at = |i: usize| -> Result<usize, VaeError> {
            bytes
                .get(i..i + 4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
                .ok_or_else(|| bad(format!("truncated: {} bytes", bytes.len())))
        };
        let header_len = u32_at(8)?;
        if header_len > MAX_HEADER || 12 + header_len > bytes.len() {
            return Err(bad(format!("truncated or corrupt header ({} bytes, header says {header_len})", bytes.len())));
        }
        let header: Header = serde_json::from_slice(&bytes[12..12 + header_len])
            .map_err(|e| bad(format!("corrupt header: {e}")))?;
        if header.format != 1 {
            return Err(bad(format!("format version {} is newer than this app (1)", header.format)));
        }
        header.arch.validate().map_err(|e| bad(e.to_string()))?;
        let count_at = 12 + header_len;
        let count = u32_at(count_at)?;
        let expected = header.arch.param_count();
        if count != expected || header.params != expected {
            return Err(bad(format!(
                "architecture {} needs {expected} parameters but the file holds {count}",
                header.arch.label()
            )));
        }
        let data_at = count_at + 4;
        let total = data_at + 4 * count + 8;
        if bytes.len() != total {
            return Err(bad(format!("{} bytes, expected {total}: the file is truncated or has trailing bytes", bytes.len())));
        }
        let stored = u64::from_le_bytes(bytes[total - 8..].try_into().unwrap());
        if stored != fnv1a(&bytes[..total - 8]) {
            return Err(bad("checksum mismatch: the file is corrupt".into()));
        }
        let params: Vec<f32> =
            bytes[data_at..total - 8].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        if params.iter().any(|p| !p.is_finite()) {
            return Err(bad("parameters contain NaN or infinity".into()));
        }
        Ok(Self { arch: header.arch, meta: header.meta, params })
    }

    /// Build the model on `device`.
    pub fn to_model(&self, device: &Device) -> Result<Vae, VaeError> {
        self.arch.from_flat(&self.params, device)
    }

    /// Build the model, refusing a file made for another architecture.
    pub fn to_model_of(&self, expected: &ArchSpec, device: &Device) -> Result<Vae, VaeError> {
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
        self.to_model(device)
    }

    pub fn sigma(&self) -> f32 {
        self.params.last().copied().unwrap_or(0.0).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(arch: &str) -> WeightsFile {
        let device = crate::cpu_device();
        let model = ArchSpec::preset(arch).unwrap().init(&device, 9);
        let meta = WeightsMeta { dataset: Some("test".into()), epochs: Some(3), ..Default::default() };
        WeightsFile::from_model(&model, meta).unwrap()
    }

    #[test]
    fn round_trip_is_exact() {
        let device = crate::cpu_device();
        let f = file("D");
        let bytes = f.to_bytes();
        let back = WeightsFile::from_bytes(&bytes, "D.bin").unwrap();
        assert_eq!(back, f);
        let model = back.to_model(&device).unwrap();
        assert_eq!(crate::read_f32(model.flat_params()).unwrap(), f.params);
        assert_eq!(WeightsFile::from_model(&model, f.meta.clone()).unwrap().to_bytes(), bytes);
    }

    #[test]
    fn refuses_wrong_arch_truncation_corruption_and_noise() {
        let device = crate::cpu_device();
        let f = file("C");
        let bytes = f.to_bytes();
        let e = f.to_model_of(&ArchSpec::preset("D").unwrap(), &device).unwrap_err().to_string();
        assert!(e.contains("architecture C") && e.contains("not D"), "{e}");

        let e = WeightsFile::from_bytes(&bytes[..bytes.len() / 2], "half.bin").unwrap_err().to_string();
        assert!(e.contains("half.bin") && e.contains("truncated"), "{e}");
        for cut in [4, 10, 30] {
            assert!(WeightsFile::from_bytes(&bytes[..cut], "c").is_err());
        }

        let mut flipped = bytes.clone();
        let n = flipped.len();
        flipped[n - 100] ^= 0x40;
        let e = WeightsFile::from_bytes(&flipped, "flip.bin").unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");

        let mut rng = crate::rng::Rng::new(5);
        let noise: Vec<u8> = (0..bytes.len()).map(|_| rng.next_u64() as u8).collect();
        let e = WeightsFile::from_bytes(&noise, "noise.bin").unwrap_err().to_string();
        assert!(e.contains("noise.bin") && e.contains("magic"), "{e}");

        // a valid header that claims another architecture than its payload
        let mut lying = file("A");
        lying.arch = ArchSpec::preset("B").unwrap();
        let forged = WeightsFile { params: f.params[..29033].to_vec(), ..lying }.to_bytes();
        let e = WeightsFile::from_bytes(&forged, "forged.bin").unwrap_err().to_string();
        assert!(e.contains("52201"), "{e}");
    }
}
