//! The compact subset file the app fetches (`www/data/mnist-subset.bin`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use vae_lab::data::Split;

fuzz_target!(|data: &[u8]| {
    if let Ok(split) = Split::from_subset_bytes(data, "fuzz") {
        assert_eq!(split.to_subset_bytes(), data);
    }
});
