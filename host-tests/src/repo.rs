//! Where the repository is: the modules of `wasm/` and the files the tests read are found at run
//! time, so that a moved or copied checkout tests its own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The root of the repository, found at run time, not fixed at compile time, so that a moved or
/// copied checkout tests its own modules: `$WASMHEAP_ROOT` if set, else the nearest directory at
/// or above the current directory, then at or above the running executable, that holds `wasm/`
/// and the wasmheap crate's `Cargo.toml`.
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        if let Some(root) = std::env::var_os("WASMHEAP_ROOT") {
            return PathBuf::from(root);
        }
        let is_root = |dir: &Path| {
            dir.join("wasm").is_dir()
                && std::fs::read_to_string(dir.join("Cargo.toml"))
                    .is_ok_and(|toml| toml.lines().any(|line| line.trim() == r#"name = "wasmheap""#))
        };
        [std::env::current_dir().ok(), std::env::current_exe().ok()]
            .into_iter()
            .flatten()
            .find_map(|start| start.ancestors().find(|dir| is_root(dir)).map(Path::to_path_buf))
            .unwrap_or_else(|| {
                panic!("cannot find the wasmheap repository above the current directory or this executable: run from inside the checkout, or set WASMHEAP_ROOT")
            })
    })
}

/// `relative` (e.g. "wasm/wasmheap.wasm") inside the repository (see [`repo_root`]).
pub fn repo_path(relative: &str) -> PathBuf {
    repo_root().join(relative)
}

/// The bytes of a file of the repository, such as a module in `wasm/`; a missing one panics with a
/// hint to build it.
pub fn read_repo_file(relative: &str) -> Vec<u8> {
    let path = repo_path(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run scripts/build)", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_repository_root_is_found_at_run_time() {
        let root = super::repo_root();
        assert!(root.join("wasm/wasmheap.wasm").is_file(), "{}", root.display());
        if std::env::var_os("WASMHEAP_ROOT").is_none() {
            // cargo test runs this in host-tests/: the root is the directory above, wherever the
            // checkout is now (not where it was when this was compiled).
            let above = std::env::current_dir().unwrap().join("..");
            assert_eq!(std::fs::canonicalize(root).unwrap(), std::fs::canonicalize(above).unwrap());
        }
    }
}
