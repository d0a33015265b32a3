//! cognito-wire against the recorded exchanges and the service models.

use std::path::PathBuf;

use xtask::{codegen, exchanges, workspace_root};

#[test]
fn generated_code_is_fresh() {
    let stale = codegen::run(&workspace_root(), true).unwrap();
    assert!(stale.is_empty(), "stale generated files (run `cargo xtask codegen`): {stale:?}");
}

#[test]
fn every_recorded_exchange_round_trips() {
    let files = exchanges::exchange_files(&[workspace_root().join("fixtures/exchanges")]).unwrap();
    let (mut passed, mut failures) = (0, Vec::new());
    for file in &files {
        let report = exchanges::check_file(file).unwrap();
        passed += report.passed;
        failures.extend(report.failures.into_iter().map(|f| format!("{}: {f}", file.display())));
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    // 211 were recorded; an emptied or unreadable directory must not pass.
    assert!(passed >= 200, "only {passed} exchanges checked");
}

#[allow(clippy::unwrap_used)]
fn exchange(name: &str) -> serde_json::Value {
    let path: PathBuf = workspace_root().join("fixtures/exchanges").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_checker_notices_a_changed_value() {
    let mut e = exchange("acij/012-RespondToAuthChallenge.json");
    exchanges::check(&e).unwrap();
    e["response"]["body"]["AuthenticationResult"]["ExpiresIn"] = "soon".into();
    assert!(exchanges::check(&e).is_err());
}

#[test]
fn the_checker_notices_an_error_type_mismatch() {
    let mut e = exchange("acij/001-SignUp-InvalidPasswordException.json");
    exchanges::check(&e).unwrap();
    e["response"]["headers"]["x-amzn-errortype"] = "UsernameExistsException".into();
    assert!(exchanges::check(&e).is_err());
}

#[test]
fn the_checker_rejects_a_success_for_a_request_that_cannot_decode() {
    let mut e = exchange("acij/002-SignUp.json");
    e["request"]["body"] = serde_json::json!({"ClientId": 42});
    let err = exchanges::check(&e).unwrap_err();
    assert!(format!("{err:#}").contains("does not decode"), "{err:#}");
}

#[test]
fn json_lines_files_are_read_line_by_line() {
    let dir = std::env::temp_dir().join(format!("xtask-wire-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = exchange("acij/012-RespondToAuthChallenge.json");
    let mut bad = good.clone();
    bad["response"]["body"]["AuthenticationResult"]["ExpiresIn"] = serde_json::json!([1]);
    let path = dir.join("mixed.jsonl");
    std::fs::write(&path, format!("{good}\n\n{bad}\nnot json\n")).unwrap();
    let report = exchanges::check_file(&path).unwrap();
    assert_eq!(report.passed, 1);
    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    assert!(report.failures[0].starts_with("line 3"), "{:?}", report.failures);
    std::fs::remove_dir_all(&dir).unwrap();
}
