//! Property tests: for random users, passwords, salts and ephemerals, the
//! client's claim is accepted by the server half, and a wrong password (or
//! a tampered claim) is rejected.

#![allow(clippy::unwrap_used, reason = "tests")]

use proptest::prelude::*;
use srp_core::*;

fn nonzero_bytes<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    proptest::collection::vec(any::<u8>(), N)
        .prop_filter("not all zero", |v| v.iter().any(|&b| b != 0))
        .prop_map(|v| v.try_into().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn client_claim_is_accepted_and_wrong_password_rejected(
        user in "[a-zA-Z0-9@._+\u{e9}\u{1F600}-]{1,40}",
        password in "\\PC{0,64}",
        other_password in "\\PC{0,64}",
        salt in proptest::collection::vec(any::<u8>(), 1..32),
        a in nonzero_bytes::<128>(),
        b in nonzero_bytes::<32>(),
        secret_block in proptest::collection::vec(any::<u8>(), 1..200),
        unix in 0u64..4_102_444_800,
    ) {
        prop_assume!(password != other_password);
        let pool_id = "eu-west-1_Pool42";
        let salt_hex = hex::encode(&salt);
        let identity = Identity::user(pool_id, &user, &password).unwrap();
        let v = compute_verifier(&compute_x(&salt_hex, &identity).unwrap());
        let client = ClientEphemeral::from_random(&a).unwrap();
        let server = ServerEphemeral::from_random(&b, &v).unwrap();
        let secret_block = base64_encode(&secret_block);
        let timestamp = Timestamp::from_unix_seconds(unix).unwrap();
        let srp_b = server.srp_b();
        let challenge = Challenge { srp_b: &srp_b, salt: &salt_hex, secret_block: &secret_block };

        let signature = client.sign(&identity, &challenge, timestamp.as_str()).unwrap();
        let accepted = server.verify(identity.public(), &v, &client.srp_a(), &secret_block, timestamp.as_str(), &signature);
        prop_assert_eq!(accepted.map(|t| t.unix_seconds()), Ok(unix));

        let wrong = Identity::user(pool_id, &user, &other_password).unwrap();
        let forged = client.sign(&wrong, &challenge, timestamp.as_str()).unwrap();
        prop_assert_eq!(
            server.verify(identity.public(), &v, &client.srp_a(), &secret_block, timestamp.as_str(), &forged),
            Err(Error::SignatureMismatch)
        );
        // Replaying the good signature with another timestamp fails too.
        let later = Timestamp::from_unix_seconds(unix + 1).unwrap();
        prop_assert_eq!(
            server.verify(identity.public(), &v, &client.srp_a(), &secret_block, later.as_str(), &signature),
            Err(Error::SignatureMismatch)
        );
    }

    #[test]
    fn device_round_is_accepted_by_the_server_half(
        password_random in any::<[u8; 32]>(),
        salt in any::<[u8; 16]>(),
        a in nonzero_bytes::<128>(),
        b in nonzero_bytes::<32>(),
    ) {
        let mut random40 = [0u8; 40];
        random40[..32].copy_from_slice(&password_random);
        let password = DevicePassword::from_random(&random40);
        let (group, key) = ("-kTGroupKey", "us-east-1_device-key-0001");
        let config = DeviceVerifierConfig::generate(group, key, password.expose_secret(), &salt).unwrap();

        // The server stores the config from ConfirmDevice...
        let (v, salt_hex) = decode_device_verifier(config.salt(), config.password_verifier()).unwrap();
        let server = ServerEphemeral::from_random(&b, &v).unwrap();
        // ...and the client answers DEVICE_PASSWORD_VERIFIER with a fresh ephemeral.
        let client = ClientEphemeral::from_random(&a).unwrap();
        let identity = Identity::device(group, key, password.expose_secret()).unwrap();
        let srp_b = server.srp_b();
        let challenge = Challenge { srp_b: &srp_b, salt: &salt_hex, secret_block: "ZGV2aWNl" };
        let ts = "Sun Nov 22 07:30:00 UTC 2026";
        let signature = client.sign(&identity, &challenge, ts).unwrap();
        prop_assert!(server.verify(identity.public(), &v, &client.srp_a(), "ZGV2aWNl", ts, &signature).is_ok());
        let wrong = Identity::device(group, key, "not-the-device-password").unwrap();
        let forged = client.sign(&wrong, &challenge, ts).unwrap();
        prop_assert_eq!(
            server.verify(identity.public(), &v, &client.srp_a(), "ZGV2aWNl", ts, &forged),
            Err(Error::SignatureMismatch)
        );
    }

    #[test]
    fn server_exponent_widths_agree(b in proptest::collection::vec(1u8..=255, 1..=200)) {
        // Whatever the width of b, B and the shared secret are consistent.
        let identity = Identity::user("us-east-1_p", "u", "pw").unwrap();
        let v = compute_verifier(&compute_x("abcd", &identity).unwrap());
        let server = ServerEphemeral::from_random(&b, &v).unwrap();
        let client = ClientEphemeral::from_random(&[7; 128]).unwrap();
        let srp_b = server.srp_b();
        let challenge = Challenge { srp_b: &srp_b, salt: "abcd", secret_block: "AAAA" };
        let ts = "Thu Jan 1 00:00:00 UTC 1970";
        let signature = client.sign(&identity, &challenge, ts).unwrap();
        prop_assert!(server.verify(identity.public(), &v, &client.srp_a(), "AAAA", ts, &signature).is_ok());
    }

    #[test]
    fn arbitrary_strings_never_panic(srp_b in "\\PC{0,900}", salt in "\\PC{0,80}", block in "\\PC{0,80}", ts in "\\PC{0,40}") {
        let client = ClientEphemeral::from_random(&[7; 128]).unwrap();
        let identity = Identity::user("us-east-1_p", "u", "pw").unwrap();
        let _ = client.sign(&identity, &Challenge { srp_b: &srp_b, salt: &salt, secret_block: &block }, &ts);
        let _ = Timestamp::parse(&ts);
        let v = compute_verifier(&compute_x("ab", &identity).unwrap());
        let server = ServerEphemeral::from_random(&[1; 32], &v).unwrap();
        let _ = server.verify(identity.public(), &v, &srp_b, &block, &ts, &salt);
        let _ = decode_device_verifier(&salt, &block);
    }
}

#[test]
fn server_rejects_degenerate_a() {
    let identity = Identity::user("us-east-1_p", "u", "pw").unwrap();
    let v = compute_verifier(&compute_x("ab", &identity).unwrap());
    let server = ServerEphemeral::from_random(&[1; 32], &v).unwrap();
    let ts = "Thu Jan 1 00:00:00 UTC 1970";
    let sig = "pFIh/dPLE6oUk1dFFkQOL6at63sJEUSEr8y1eDjKDdA=";
    for a in ["0", N_HEX] {
        assert_eq!(server.verify(identity.public(), &v, a, "AAAA", ts, sig), Err(Error::DegenerateA));
    }
    assert_eq!(server.verify(identity.public(), &v, "1234", "AAAA", "yesterday", sig), Err(Error::InvalidTimestamp));
    assert_eq!(
        server.verify(identity.public(), &v, "1234", "AAAA", ts, "c2hvcnQ="),
        Err(Error::InvalidLength(Field::Signature))
    );
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
