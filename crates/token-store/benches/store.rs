//! Cost of saving and loading a token record in each store and layout, and
//! of decoding a JWT.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, reason = "a benchmark aborts on a broken setup")]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use token_store::{
    DeviceMetadata, FileStorage, Jwt, KeyValueStorage, Layout, MemoryStorage, SignInDetails, TokenRecord, TokenStore,
};

fn jwt(payload: &serde_json::Value) -> String {
    let seg = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    // A Cognito-sized token: ~1 KB with a 256-byte signature.
    format!("{}.{}.{}", seg(&serde_json::json!({"kid": "abc", "alg": "RS256"})), seg(payload), "s".repeat(342))
}

fn sample_record() -> TokenRecord {
    let claims = serde_json::json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["admins"],
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL", "client_id": "client123",
        "origin_jti": "o", "event_id": "e", "token_use": "access", "scope": "aws.cognito.signin.user.admin",
        "auth_time": 1_700_000_000, "exp": 1_700_003_600, "iat": 1_700_000_000, "jti": "j", "username": "alice"
    });
    let mut r = TokenRecord::new("alice", jwt(&claims));
    r.id_token = Some(jwt(&claims).into());
    r.refresh_token = Some("r".repeat(1700).into());
    r.clock_drift_ms = -1500;
    r.sign_in_details = Some(SignInDetails { login_id: Some("alice@example.com".into()), auth_flow_type: None });
    r.device = Some(DeviceMetadata::new("us-east-1_dk", "-grp", "p".repeat(40)));
    r
}

fn stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let dir = std::env::temp_dir().join(format!("token-store-bench-{}", std::process::id()));
    let record = sample_record();
    let mut group = c.benchmark_group("token_record");
    for layout in [Layout::Native, Layout::AmplifyCompat] {
        let kvs: [(&str, Arc<dyn KeyValueStorage>); 2] = [
            ("memory", Arc::new(MemoryStorage::new())),
            ("file", Arc::new(FileStorage::new(dir.join(format!("{layout:?}.json"))))),
        ];
        for (name, kv) in kvs {
            let store = TokenStore::new(kv, "client123", layout);
            group.bench_function(format!("save/{name}/{layout:?}"), |b| {
                b.iter(|| rt.block_on(store.save(black_box(&record))).unwrap());
            });
            group.bench_function(format!("load/{name}/{layout:?}"), |b| {
                b.iter(|| black_box(rt.block_on(store.load()).unwrap()));
            });
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn decode(c: &mut Criterion) {
    let record = sample_record();
    let raw = record.access_token.expose_secret().to_owned();
    c.bench_function("jwt/decode", |b| b.iter(|| Jwt::decode(black_box(&raw)).unwrap()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
    targets = stores, decode
}
criterion_main!(benches);
