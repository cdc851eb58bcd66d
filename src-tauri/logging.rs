//! The app's log: to stderr, and to `<data>/logs/countersign.log`, which outlives the process
//! so a reviewer can attach it to a bug report (and the end-to-end tests print it when a
//! scenario fails: a GUI app's stderr is lost behind WebKitWebDriver). Panics are logged too.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Past this size the log is moved to `countersign.log.1` at start, replacing the older one:
/// two files bound what the log keeps on disk.
const ROTATE_AT_BYTES: u64 = 4 * 1024 * 1024;

pub fn log_path(data: &Path) -> PathBuf {
    data.join("logs").join("countersign.log")
}

/// Installs the logger. A log file that cannot be opened leaves logging on stderr, with a
/// warning there: the app itself must not fail to start over it.
pub fn init(data: &Path) {
    let filter = || {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,countersign_gateway=warn".into())
    };
    let file = open_log(&log_path(data));
    let file_layer = file.as_ref().ok().map(|file| {
        fmt::layer()
            .with_ansi(false)
            .with_writer(Arc::clone(file))
            .with_filter(filter())
    });
    tracing_subscriber::registry()
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter()),
        )
        .with(file_layer)
        .init();
    if let Err(error) = file {
        tracing::warn!(%error, "no log file: logging to stderr only");
    }
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |panic| {
        tracing::error!(%panic, "panic");
        default_hook(panic);
    }));
}

fn open_log(path: &Path) -> std::io::Result<Arc<File>> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    if fs::metadata(path).is_ok_and(|meta| meta.len() > ROTATE_AT_BYTES) {
        fs::rename(path, path.with_extension("log.1"))?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    Ok(Arc::new(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_log_is_rotated_and_a_small_one_appended_to() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = log_path(dir.path());
        open_log(&path).expect("log opens");
        fs::write(&path, "small\n").expect("written");
        open_log(&path).expect("log opens");
        assert_eq!(fs::read_to_string(&path).expect("read"), "small\n");
        fs::write(&path, vec![b'x'; ROTATE_AT_BYTES as usize + 1]).expect("written");
        open_log(&path).expect("log opens");
        assert_eq!(fs::metadata(&path).expect("log").len(), 0);
        assert_eq!(
            fs::metadata(path.with_extension("log.1"))
                .expect("rotated log")
                .len(),
            ROTATE_AT_BYTES + 1
        );
    }
}
