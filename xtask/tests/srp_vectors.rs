//! srp-core against every vector file in `fixtures/srp/` (the same check as
//! `cargo xtask srp check-vectors`), so the test suite fails on any
//! disagreement with pycognito, amazon-cognito-identity-js or Amplify v6.

use xtask::{expand_inputs, srp_vectors, workspace_root};

/// The committed files hold 105 cases (32 password, 7 device, 41 timestamp,
/// 8 SECRET_HASH, 17 reject); an emptied or truncated directory must not pass.
const MIN_CASES: usize = 100;

#[test]
fn every_committed_srp_vector_passes() {
    let files = expand_inputs(&[workspace_root().join("fixtures/srp")], &["json"]).unwrap();
    assert!(!files.is_empty(), "no vector files in fixtures/srp");
    let (mut passed, mut failures) = (0, Vec::new());
    for file in &files {
        match srp_vectors::check_file(file) {
            Ok(report) => {
                passed += report.passed;
                failures.extend(report.failures.into_iter().map(|f| format!("{}: {f}", file.display())));
            }
            Err(err) => failures.push(format!("{}: {err:#}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(passed >= MIN_CASES, "only {passed} SRP vector cases checked (expected at least {MIN_CASES})");
}

#[test]
fn every_vector_list_is_represented() {
    // Each kind of case the format defines is covered by the committed files.
    let files = expand_inputs(&[workspace_root().join("fixtures/srp")], &["json"]).unwrap();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for file in &files {
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for list in ["password_cases", "device_cases", "timestamp_cases", "secret_hash_cases", "reject_cases"] {
            *counts.entry(list).or_default() += doc.get(list).and_then(|v| v.as_array()).map_or(0, Vec::len);
        }
    }
    for (list, count) in &counts {
        assert!(*count > 0, "no {list} in fixtures/srp");
    }
}
