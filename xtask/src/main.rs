//! `cargo xtask`: project automation. Run `cargo xtask help`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use xtask::{codegen, exchanges, expand_inputs, srp_vectors, test_cmd, workspace_root};

mod interop;
mod interop_client;

const HELP: &str = "\
cargo xtask <command>

Commands:
  test                            run every test (the README's test command; what .ci/run runs)
  codegen [--check]               regenerate crates/cognito-wire/src/generated/ from fixtures/models
                                  (--check: fail if the committed files are stale)
  srp check-vectors [FILE|DIR...] check cognito-srp-vectors/1 files against srp-core
                                  (default: fixtures/srp)
  bench srp [--peers-dir DIR] [--iterations N] [--no-install]
                                  time srp-core's client SRP next to pycognito, amazon-cognito-identity-js
                                  and gmpy2 powmod_sec (installs them into DIR; default target/bench-peers)
  wire check-exchanges [FILE|DIR...]
                                  round-trip recorded exchanges (.json, .jsonl) through
                                  cognito-wire (default: fixtures/exchanges)
  wire fuzz-corpus                seed crates/cognito-wire/fuzz/corpus from the exchanges
  bench local-pool [--clients N] [--seconds S] [--ministack PATH] [--load-users N]
                                  SRP sign-ins per second against the local pool and ministack
  interop local-pool [--scratch DIR] [--only amplify|acij|pycognito]
                                  run aws-amplify v6, amazon-cognito-identity-js and pycognito
                                  against the local pool (installs them into DIR; default
                                  target/interop/local-pool)
  interop client [--scratch DIR] [--only local-pool|ministack]
                                  run amplify-auth's own client (examples/interop_client.rs: SRP
                                  sign-in, wrong password, refresh, sign-out, TOTP) against the
                                  local pool and ministack AUTH=true (installs ministack and boto3
                                  into DIR; default target/interop/ministack)
  help                            this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["srp", "check-vectors", files @ ..] => check_vectors(files),
        ["bench", "srp", rest @ ..] => xtask::bench::run(rest),
        ["wire", "check-exchanges", files @ ..] => check_exchanges(files),
        ["wire", "fuzz-corpus"] => {
            let root = workspace_root();
            let out = root.join("crates/cognito-wire/fuzz/corpus/decode_response");
            let n = exchanges::write_fuzz_corpus(&root.join("fixtures/exchanges"), &out)?;
            println!("{n} seeds written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        ["bench", "local-pool", flags @ ..] => {
            bench_local_pool(flags)?;
            Ok(ExitCode::SUCCESS)
        }
        ["interop", "local-pool", rest @ ..] => interop::run(&workspace_root(), rest),
        ["interop", "client", rest @ ..] => interop_client::run(&workspace_root(), rest),
        ["codegen"] => run_codegen(false),
        ["codegen", "--check"] => run_codegen(true),
        ["test"] => {
            test_cmd::run(&workspace_root())?;
            Ok(ExitCode::SUCCESS)
        }
        [] | ["help" | "--help" | "-h"] => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("unknown command {:?}\n\n{HELP}", args.join(" ")),
    }
}

fn check_vectors(files: &[&str]) -> Result<ExitCode> {
    let inputs: Vec<PathBuf> = if files.is_empty() {
        vec![workspace_root().join("fixtures/srp")]
    } else {
        files.iter().map(PathBuf::from).collect()
    };
    let files = expand_inputs(&inputs, &["json"])?;
    if files.is_empty() {
        bail!("no vector files found");
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        match srp_vectors::check_file(file) {
            Ok(report) => {
                for failure in &report.failures {
                    println!("FAIL {}: {failure}", file.display());
                }
                passed += report.passed;
                failed += report.failures.len();
            }
            Err(err) => {
                println!("FAIL {}: {err:#}", file.display());
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn run_codegen(check: bool) -> Result<ExitCode> {
    let stale = codegen::run(&workspace_root(), check)?;
    if stale.is_empty() {
        println!("generated code is up to date");
        return Ok(ExitCode::SUCCESS);
    }
    for path in &stale {
        println!("{} {}", if check { "stale:" } else { "wrote:" }, path.display());
    }
    if check {
        println!("run `cargo xtask codegen` and commit the result");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn check_exchanges(files: &[&str]) -> Result<ExitCode> {
    let inputs: Vec<PathBuf> = if files.is_empty() {
        vec![workspace_root().join("fixtures/exchanges")]
    } else {
        files.iter().map(PathBuf::from).collect()
    };
    let files = exchanges::exchange_files(&inputs)?;
    if files.is_empty() {
        bail!("no exchange files found");
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        match exchanges::check_file(file) {
            Ok(report) => {
                for failure in &report.failures {
                    println!("FAIL {}: {failure}", file.display());
                }
                passed += report.passed;
                failed += report.failures.len();
            }
            Err(err) => {
                println!("FAIL {}: {err:#}", file.display());
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn bench_local_pool(flags: &[&str]) -> Result<()> {
    let root = workspace_root();
    let default_ministack = std::env::var_os("MINISTACK")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/interop/venv-ministack/bin/ministack"));
    let mut options = xtask::bench_pool::Options {
        clients: 16,
        seconds: 10,
        ministack: Some(default_ministack),
        load_users: 100_000,
    };
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match *flag {
            "--clients" => options.clients = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            "--ministack" => options.ministack = Some(PathBuf::from(value)),
            "--load-users" => options.load_users = value.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    xtask::bench_pool::run(&root, &options)
}
