//! Where each layer lives in the flat parameter vector ([`ArchSpec::param_shapes`]): the one
//! reading of that layout for the plain-Rust model, in training ([`crate::dense_step`]) and in
//! inference ([`crate::infer`]).

use crate::config::ArchSpec;

/// One fully connected layer's place in the flat parameter vector.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LayerAt {
    /// Offset of the weight [d_in, d_out] (row-major, like burn's `Linear`).
    pub w: usize,
    /// Offset of the bias [d_out].
    pub b: usize,
    pub d_in: usize,
    pub d_out: usize,
    /// ReLU after it (the hidden layers; not the encoder's head nor the pixel layer).
    pub relu: bool,
}

/// The layers of an architecture, in parameter order.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Encoder layers (its head last), then decoder layers (the pixel layer last).
    pub layers: Vec<LayerAt>,
    /// How many of `layers` are the encoder's.
    pub n_enc: usize,
    /// Offset of log σ, the last parameter.
    pub log_sigma: usize,
}

impl Layout {
    pub fn new(arch: &ArchSpec) -> Self {
        let shapes = arch.param_shapes();
        let mut layers = Vec::new();
        let mut offset = 0;
        for pair in shapes[..shapes.len() - 1].chunks(2) {
            let (d_in, d_out) = (pair[0][0], pair[0][1]);
            layers.push(LayerAt {
                w: offset,
                b: offset + d_in * d_out,
                d_in,
                d_out,
                relu: true,
            });
            offset += d_in * d_out + d_out;
        }
        let n_enc = arch.hidden.len() + 1;
        layers[n_enc - 1].relu = false;
        layers.last_mut().expect("a decoder").relu = false;
        Layout {
            layers,
            n_enc,
            log_sigma: offset,
        }
    }
}
