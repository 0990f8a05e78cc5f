//! Files the CLI writes: atomically (a temporary file renamed over the target), and never over
//! an existing one unless the user said so.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// A file the CLI writes. The bytes go to a temporary file beside the target
/// (`.{name}.tmp-{pid}`); [`AtomicFile::commit`] syncs it to disk and renames it over the target,
/// so the target is always either the old file or the whole new one, whether the process is
/// killed, the disk fills up or a write fails. Dropped before the commit (an error), the
/// temporary file is removed. A device or pipe (`/dev/null`) is written to directly.
pub struct AtomicFile {
    target: PathBuf,
    tmp: Option<PathBuf>,
    file: BufWriter<File>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<Self> {
        let cannot = || format!("cannot write {}", target.display());
        if std::fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = File::options()
                .write(true)
                .open(target)
                .with_context(cannot)?;
            return Ok(Self {
                target: target.into(),
                tmp: None,
                file: BufWriter::new(file),
            });
        }
        let name = target.file_name().with_context(cannot)?.to_string_lossy();
        let dir = folder_of(target);
        std::fs::create_dir_all(dir).with_context(cannot)?;
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let file = File::create(&tmp).with_context(cannot)?;
        if let Ok(m) = std::fs::metadata(target) {
            let _ = file.set_permissions(m.permissions());
        }
        Ok(Self {
            target: target.into(),
            tmp: Some(tmp),
            file: BufWriter::new(file),
        })
    }

    /// Sync the new bytes and put them in place of the target.
    pub fn commit(mut self) -> Result<()> {
        let cannot = format!("cannot write {}", self.target.display());
        self.file.flush().context(cannot.clone())?;
        let Some(tmp) = self.tmp.take() else {
            return Ok(());
        };
        let done = self
            .file
            .get_ref()
            .sync_all()
            .and_then(|()| std::fs::rename(&tmp, &self.target));
        if let Err(e) = done {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).context(cannot);
        }
        // the rename is on disk once the folder is (best effort: not every system syncs folders)
        if let Ok(dir) = File::open(folder_of(&self.target)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Write a whole file through [`AtomicFile`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.commit()
}

/// An existing file is replaced only when the user said so (`--force`, or `--out` naming it).
pub fn may_replace(path: &Path, allowed: bool) -> Result<()> {
    if !allowed && path.exists() {
        bail!(
            "{} already exists and is kept: pass --force to replace it, or write elsewhere",
            path.display()
        );
    }
    Ok(())
}
