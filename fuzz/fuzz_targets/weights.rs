//! The weights file and the training checkpoint: any bytes give a value or an error, never a
//! panic, and nothing is allocated in proportion to a size the file merely claims.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vae_lab::checkpoint::Checkpoint;
use vae_lab::WeightsFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = WeightsFile::from_bytes(data, "fuzz") {
        // what parses must write back to the same bytes' meaning
        let again = WeightsFile::from_bytes(&file.to_bytes(), "again").expect("a parsed file re-reads");
        assert_eq!(again.params.len(), file.params.len());
    }
    let _ = WeightsFile::parse_header(data, "fuzz");
    if let Ok(ckpt) = Checkpoint::from_bytes(data, "fuzz") {
        assert!(Checkpoint::from_bytes(&ckpt.to_bytes(), "again").is_ok());
    }
});
