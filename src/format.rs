//! The framing both file formats share, the weights file (`VAELABW1`, [`crate::weights`]) and the
//! training checkpoint (`VAELABC1`, [`crate::checkpoint`]):
//!
//! `magic` (8 bytes) | u32 header length | header JSON | u32 float count | f32 × count | u64
//! FNV-1a of every byte before it, all little-endian.
//!
//! Here are the writer, the checksum and the small readers of each part; what a header must hold
//! (and which error each format gives first) stays with its format.

/// Where the header starts: after the magic and the header length.
pub(crate) const HEADER_AT: usize = 12;

/// A framed file: `magic`, `header`, then `floats`, then the checksum.
pub(crate) fn write_framed(magic: &[u8; 8], header: &[u8], floats: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + header.len() + 4 * floats.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&(floats.len() as u32).to_le_bytes());
    for v in floats {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// 64-bit FNV-1a: enough to catch a truncated or damaged download, cheap in wasm.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The little-endian u32 at `i`, or `None` past the end (overflow included).
pub(crate) fn u32_at(bytes: &[u8], i: usize) -> Option<usize> {
    i.checked_add(4)
        .and_then(|end| bytes.get(i..end))
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
}

/// Whether the last 8 bytes are the FNV-1a of the rest (`bytes` holds at least 8).
pub(crate) fn checksum_ok(bytes: &[u8]) -> bool {
    let body = bytes.len() - 8;
    u64::from_le_bytes(bytes[body..].try_into().expect("8 bytes")) == fnv1a(&bytes[..body])
}

/// Little-endian f32s (the length is a multiple of 4, checked by the caller).
pub(crate) fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}
