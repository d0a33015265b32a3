//! Project automation behind `cargo xtask` (a cargo alias; see
//! `.cargo/config.toml`). The binary is a thin argument parser over these
//! modules, so the test suite can call the same checks.

pub mod bench;
pub mod bench_pool;
pub mod codegen;
pub mod exchanges;
pub mod srp_vectors;
pub mod test_cmd;

use std::path::PathBuf;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(PathBuf::from).unwrap_or(manifest_dir)
}

/// Expands files and directories into the `.json`/`.jsonl` files they hold,
/// sorted, so the same input always gives the same order.
pub fn expand_inputs(inputs: &[PathBuf], extensions: &[&str]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut stack = vec![input.clone()];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir)? {
                    let path = entry?.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e)) {
                        out.push(path);
                    }
                }
            }
        } else {
            out.push(input.clone());
        }
    }
    out.sort();
    Ok(out)
}
