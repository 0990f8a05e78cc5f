//! The crate's one error type: every failure with a message meant for people and a kind the
//! callers react to. A leaf: nothing in the crate is below it.

/// Everything that can go wrong, with messages meant for people.
#[derive(Debug, thiserror::Error)]
pub enum VaeError {
    #[error("{0}")]
    Invalid(String),
    #[error("{file}: {why}")]
    Data { file: String, why: String },
    #[error("weights file {file}: {why}")]
    Weights { file: String, why: String },
    #[error("{0}")]
    Diverged(String),
    #[error("reading a tensor back failed: {0}")]
    Readback(String),
}

impl VaeError {
    /// What kind of failure this is, for callers that react differently (the page falls back to
    /// the CPU on `gpu`, shows `input` next to the control that caused it, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            VaeError::Invalid(_) => "input",
            VaeError::Data { .. } => "data",
            VaeError::Weights { .. } => "weights",
            VaeError::Diverged(_) => "diverged",
            VaeError::Readback(_) => "gpu",
        }
    }
}
