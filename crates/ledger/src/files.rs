//! Private files: the data directory, `ledgers/` and every ledger file hold a reviewer's
//! history and must not be readable by other local users, whatever the umask. Directories
//! this code creates are made 0700 and ledger files 0600, set explicitly after creation
//! (a mode given at creation is still cut by the umask); directories that already existed
//! are left alone, since they may be shared ones like a temp dir.

use std::io;
use std::path::Path;

/// `create_dir_all`, with every directory it creates made 0700.
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = path.ancestors().take_while(|dir| !dir.exists()).collect();
    std::fs::create_dir_all(path)?;
    for dir in missing {
        restrict(dir, 0o700)?;
    }
    Ok(())
}

/// Creates `path` empty with mode 0600 when it does not exist; an existing file is kept.
pub(crate) fn create_private_file(path: &Path) -> io::Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => restrict(path, 0o600),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}
