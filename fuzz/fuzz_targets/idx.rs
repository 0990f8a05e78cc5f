//! IDX images and labels, raw or gzipped (one or many members). The inflation cap is 16 MiB here
//! (512 MiB in the app) so that libFuzzer's malloc limit catches any allocation the cap misses.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vae_lab::files;

fuzz_target!(|input: &[u8]| {
    let Ok(bytes) = files::gunzip_capped(input.to_vec(), "fuzz", 16 << 20) else { return };
    assert!(bytes.len() <= 16 << 20);
    if let Ok(pixels) = files::parse_idx_images(&bytes, "fuzz") {
        assert_eq!(pixels.len() % 784, 0);
    }
    let _ = files::parse_idx_labels(&bytes, "fuzz");
});
