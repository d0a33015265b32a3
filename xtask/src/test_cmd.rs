//! `cargo xtask test`: every test of the workspace, in the order that fails
//! fastest. This is the README's test command and what `.ci/run` runs.
//! Tests, doc tests and lints run with `--all-features`, so optional
//! features (`amplify-auth`'s `aws-sdk`) are covered; the only other
//! features (`srp-core`'s) are on by default, and its `no_std` build is a
//! separate step.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// One step: a name and the command line.
struct Step {
    name: &'static str,
    program: &'static str,
    args: Vec<String>,
}

fn step(name: &'static str, program: &'static str, args: &[&str]) -> Step {
    Step { name, program, args: args.iter().map(|s| (*s).to_owned()).collect() }
}

fn has_nextest() -> bool {
    Command::new("cargo").args(["nextest", "--version"]).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Runs all steps; stops at the first failure.
pub fn run(root: &Path) -> Result<()> {
    let mut steps = vec![step("formatting", "cargo", &["fmt", "--all", "--", "--check"])];
    if has_nextest() {
        steps.push(step(
            "unit, integration and property tests (nextest)",
            "cargo",
            &[
                "nextest",
                "run",
                "--workspace",
                "--all-features",
                "--lib",
                "--bins",
                "--tests",
                "--examples",
                "--no-fail-fast",
            ],
        ));
    } else {
        eprintln!("note: cargo-nextest not found; using cargo test (install it with `cargo install cargo-nextest`)");
        steps.push(step(
            "unit, integration and property tests",
            "cargo",
            &["test", "--workspace", "--all-features", "--lib", "--bins", "--tests", "--examples", "--no-fail-fast"],
        ));
    }
    steps.push(step("documentation tests", "cargo", &["test", "--workspace", "--all-features", "--doc"]));
    steps.push(step(
        "srp-core as #![no_std] without an allocator",
        "cargo",
        &["build", "--quiet", "--manifest-path", "xtask/nostd-check/Cargo.toml", "--target-dir", "target/nostd-check"],
    ));
    steps.push(step(
        "lints (clippy, warnings are errors)",
        "cargo",
        &["clippy", "--quiet", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"],
    ));
    steps.push(step(
        "reference clients against the local pool (installs them under target/interop)",
        "cargo",
        &["xtask", "interop", "local-pool"],
    ));
    steps.push(step(
        "our client against the local pool and ministack (installs ministack under target/interop)",
        "cargo",
        &["xtask", "interop", "client"],
    ));

    for (index, s) in steps.iter().enumerate() {
        eprintln!("\n==> [{}/{}] {}: {} {}", index + 1, steps.len(), s.name, s.program, s.args.join(" "));
        let status = Command::new(s.program)
            .args(&s.args)
            .current_dir(root)
            .status()
            .with_context(|| format!("starting {}", s.program))?;
        if !status.success() {
            bail!("step failed: {} ({status})", s.name);
        }
    }
    eprintln!("\nall {} steps passed", steps.len());
    Ok(())
}
