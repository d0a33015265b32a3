//! Layouts: Amplify JS v6 key compatibility (against keys written by Amplify
//! itself), the native layout, sign-out semantics, and error cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::record;
use token_store::{
    AuthFlowType, DeviceMetadata, KeyValueStorage, Layout, MemoryStorage, SignInDetails, TokenRecord, TokenStore,
    TokenStoreError,
};

/// Keys and values written by aws-amplify 6.22.1's own `DefaultTokenStore`
/// (see `fixtures/gen-amplify-js-v6-storage.mjs`).
fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/amplify-js-v6-storage.json")).unwrap()
}

fn as_map(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect()
}

fn snapshot(kv: &MemoryStorage) -> BTreeMap<String, String> {
    kv.snapshot().into_iter().map(|(k, v)| (k, v.to_string())).collect()
}

fn fixture_record(fx: &serde_json::Value) -> TokenRecord {
    let loaded = &fx["loaded"];
    let mut r = TokenRecord::new(loaded["username"].as_str().unwrap(), loaded["accessToken"].as_str().unwrap());
    r.id_token = Some(loaded["idToken"].as_str().unwrap().into());
    r.refresh_token = Some(loaded["refreshToken"].as_str().unwrap().into());
    r.clock_drift_ms = loaded["clockDrift"].as_i64().unwrap();
    r.sign_in_details = Some(SignInDetails {
        login_id: Some("alice@example.com".into()),
        auth_flow_type: Some(AuthFlowType::UserSrpAuth),
    });
    let d = &loaded["deviceMetadata"];
    r.device = Some(DeviceMetadata::new(
        d["deviceKey"].as_str().unwrap(),
        d["deviceGroupKey"].as_str().unwrap(),
        d["randomPassword"].as_str().unwrap(),
    ));
    r
}

async fn seeded(map: &BTreeMap<String, String>) -> Arc<MemoryStorage> {
    let kv = Arc::new(MemoryStorage::new());
    for (k, v) in map {
        kv.set(k, v).await.unwrap();
    }
    kv
}

#[tokio::test]
async fn compat_writes_exactly_the_keys_amplify_js_writes() {
    let fx = fixture();
    let kv = Arc::new(MemoryStorage::new());
    let store = TokenStore::new(kv.clone(), "client123", Layout::AmplifyCompat);
    store.save(&fixture_record(&fx)).await.unwrap();
    assert_eq!(snapshot(&kv), as_map(&fx["afterStore"]));
    // Spelled out, so a change to the fixture cannot silently move the target.
    let keys: Vec<String> = snapshot(&kv).into_keys().collect();
    assert_eq!(
        keys,
        [
            "CognitoIdentityServiceProvider.client123.LastAuthUser",
            "CognitoIdentityServiceProvider.client123.alice.accessToken",
            "CognitoIdentityServiceProvider.client123.alice.clockDrift",
            "CognitoIdentityServiceProvider.client123.alice.deviceGroupKey",
            "CognitoIdentityServiceProvider.client123.alice.deviceKey",
            "CognitoIdentityServiceProvider.client123.alice.idToken",
            "CognitoIdentityServiceProvider.client123.alice.randomPasswordKey",
            "CognitoIdentityServiceProvider.client123.alice.refreshToken",
            "CognitoIdentityServiceProvider.client123.alice.signInDetails",
        ]
    );
    assert_eq!(
        snapshot(&kv)["CognitoIdentityServiceProvider.client123.alice.signInDetails"],
        r#"{"loginId":"alice@example.com","authFlowType":"USER_SRP_AUTH"}"#
    );
    assert_eq!(snapshot(&kv)["CognitoIdentityServiceProvider.client123.alice.clockDrift"], "-1500");
}

#[tokio::test]
async fn compat_reads_a_session_written_by_amplify_js_and_clears_like_it() {
    let fx = fixture();
    let kv = seeded(&as_map(&fx["afterStore"])).await;
    let store = TokenStore::new(kv.clone(), "client123", Layout::AmplifyCompat);
    assert_eq!(store.load().await.unwrap(), Some(fixture_record(&fx)));

    store.clear_tokens().await.unwrap();
    assert_eq!(snapshot(&kv), as_map(&fx["afterClear"]), "device keys stay, everything else goes");
    assert_eq!(store.load().await.unwrap(), None);
    assert_eq!(store.load_device("alice").await.unwrap(), fixture_record(&fx).device);
}

#[tokio::test]
async fn compat_round_trips_optional_fields_and_removes_absent_ones() {
    let kv = Arc::new(MemoryStorage::new());
    let store = TokenStore::new(kv.clone(), "cid", Layout::AmplifyCompat);
    store.save(&record(1, 1)).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(record(1, 1)));

    // A refresh without ID/refresh token or details removes those keys, and
    // a record without a device leaves the stored device alone.
    let mut bare = TokenRecord::new("alice", "access-only");
    bare.clock_drift_ms = 7;
    store.save(&bare).await.unwrap();
    let snap = snapshot(&kv);
    for gone in ["idToken", "refreshToken", "signInDetails"] {
        assert!(!snap.contains_key(&format!("CognitoIdentityServiceProvider.cid.alice.{gone}")), "{gone}");
    }
    let loaded = store.load().await.unwrap().unwrap();
    assert_eq!(loaded.access_token.expose_secret(), "access-only");
    assert_eq!(loaded.id_token, None);
    assert_eq!(loaded.device, record(1, 1).device);
}

#[tokio::test]
async fn a_new_user_replaces_the_previous_users_tokens_but_not_their_device() {
    let kv = Arc::new(MemoryStorage::new());
    let store = TokenStore::new(kv.clone(), "cid", Layout::AmplifyCompat);
    store.save(&record(1, 1)).await.unwrap();
    let mut bob = record(2, 2);
    bob.username = "bob".into();
    store.save(&bob).await.unwrap();
    let keys: Vec<String> = snapshot(&kv).into_keys().filter(|k| k.contains(".alice.")).collect();
    assert_eq!(
        keys,
        [
            "CognitoIdentityServiceProvider.cid.alice.deviceGroupKey",
            "CognitoIdentityServiceProvider.cid.alice.deviceKey",
            "CognitoIdentityServiceProvider.cid.alice.randomPasswordKey",
        ]
    );
    assert_eq!(store.load().await.unwrap().unwrap().username, "bob");
}

#[tokio::test]
async fn compat_errors_and_leniencies() {
    let p = "CognitoIdentityServiceProvider.cid";
    // LastAuthUser without an access token: a half-written session.
    let kv = seeded(&BTreeMap::from([
        (format!("{p}.LastAuthUser"), "alice".into()),
        (format!("{p}.alice.refreshToken"), "r".into()),
    ]))
    .await;
    let store = TokenStore::new(kv, "cid", Layout::AmplifyCompat);
    match store.load().await {
        Err(TokenStoreError::Inconsistent { missing_key }) => assert_eq!(missing_key, format!("{p}.alice.accessToken")),
        other => panic!("expected Inconsistent, got {other:?}"),
    }

    // Unparsable signInDetails: a typed error naming the key.
    let kv = seeded(&BTreeMap::from([
        (format!("{p}.LastAuthUser"), "alice".into()),
        (format!("{p}.alice.accessToken"), "a".into()),
        (format!("{p}.alice.signInDetails"), "{not json".into()),
    ]))
    .await;
    let store = TokenStore::new(kv, "cid", Layout::AmplifyCompat);
    match store.load().await {
        Err(TokenStoreError::CorruptValue { key, .. }) => assert_eq!(key, format!("{p}.alice.signInDetails")),
        other => panic!("expected CorruptValue, got {other:?}"),
    }

    // clockDrift "" (Amplify PR #14689) reads as 0, not NaN; a missing one
    // too; a partial device is no device (as in Amplify).
    let kv = seeded(&BTreeMap::from([
        (format!("{p}.LastAuthUser"), "alice".into()),
        (format!("{p}.alice.accessToken"), "a".into()),
        (format!("{p}.alice.clockDrift"), String::new()),
        (format!("{p}.alice.deviceKey"), "dk".into()),
    ]))
    .await;
    let store = TokenStore::new(kv, "cid", Layout::AmplifyCompat);
    let r = store.load().await.unwrap().unwrap();
    assert_eq!((r.clock_drift_ms, r.device), (0, None));

    // Device keys without LastAuthUser: signed out, not an error.
    let kv = seeded(&BTreeMap::from([(format!("{p}.alice.deviceKey"), "dk".into())])).await;
    assert_eq!(TokenStore::new(kv, "cid", Layout::AmplifyCompat).load().await.unwrap(), None);
}

#[tokio::test]
async fn native_layout_round_trip_sign_out_and_device_lifecycle() {
    let kv = Arc::new(MemoryStorage::new());
    let store = TokenStore::new(kv.clone(), "cid", Layout::Native);
    assert_eq!(store.load().await.unwrap(), None);
    store.save(&record(3, 4)).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(record(3, 4)));
    let keys: Vec<String> = snapshot(&kv).into_keys().collect();
    assert_eq!(keys, ["amplify-auth.cid.alice.device", "amplify-auth.cid.session"]);

    store.clear_tokens().await.unwrap();
    assert_eq!(store.load().await.unwrap(), None);
    assert_eq!(store.load_device("alice").await.unwrap(), record(3, 4).device);

    // Signing in again without a device picks the remembered one up.
    store.save(&TokenRecord::new("alice", "again")).await.unwrap();
    assert_eq!(store.load().await.unwrap().unwrap().device, record(3, 4).device);

    store.clear_device("alice").await.unwrap();
    assert_eq!(store.load().await.unwrap().unwrap().device, None);
    let d = DeviceMetadata::new("k", "g", "p");
    store.save_device("alice", &d).await.unwrap();
    assert_eq!(store.load_device("alice").await.unwrap(), Some(d));

    // A damaged session value is a typed error naming the key.
    kv.set("amplify-auth.cid.session", "{\"v\":1,").await.unwrap();
    match store.load().await {
        Err(TokenStoreError::CorruptValue { key, .. }) => assert_eq!(key, "amplify-auth.cid.session"),
        other => panic!("expected CorruptValue, got {other:?}"),
    }
}

#[tokio::test]
async fn compat_device_lifecycle() {
    let kv = Arc::new(MemoryStorage::new());
    let store = TokenStore::new(kv.clone(), "cid", Layout::AmplifyCompat);
    let d = DeviceMetadata::new("k", "g", "p");
    store.save_device("carol", &d).await.unwrap();
    assert_eq!(store.load_device("carol").await.unwrap(), Some(d));
    store.clear_device("carol").await.unwrap();
    assert_eq!(store.load_device("carol").await.unwrap(), None);
    assert!(snapshot(&kv).is_empty());
}

#[tokio::test]
async fn debug_output_never_contains_secrets() {
    let kv = Arc::new(MemoryStorage::new());
    let store = TokenStore::new(kv.clone(), "cid", Layout::AmplifyCompat);
    let rec = record(5, 6);
    store.save(&rec).await.unwrap();
    let mut batch = token_store::Batch::new();
    batch.set("k", "pw-5-6").remove("other");
    let shown = [
        format!("{rec:?}"),
        format!("{rec:#?}"),
        format!("{:?}", store.load().await.unwrap()),
        format!("{store:?}"),
        format!("{kv:?}"),
        format!("{batch:?}"),
        format!("{:?}", rec.device),
    ];
    for s in &shown {
        for secret in ["access-5-6", "id-5-6", "refresh-5-6", "pw-5-6"] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
    }
    assert!(shown[0].contains("Secret([redacted])"));
    // Non-secret fields remain useful.
    assert!(shown[0].contains("alice") && shown[0].contains("dk-5-6"));
}
