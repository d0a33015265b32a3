//! Known-answer tests from values published with the reference material
//! (computed by pycognito, amazon-cognito-identity-js and Amplify JS v6).
//! The full vector files in `fixtures/srp/` are checked by `cargo xtask srp
//! check-vectors` and by the xtask test suite.

#![allow(clippy::unwrap_used, reason = "tests")]

use srp_core::*;

fn hex_array<const N: usize>(hex_text: &str) -> [u8; N] {
    let even = if hex_text.len() % 2 == 1 { format!("0{hex_text}") } else { hex_text.to_owned() };
    let bytes = hex::decode(even).unwrap();
    let mut out = [0u8; N];
    out[N - bytes.len()..].copy_from_slice(&bytes);
    out
}

#[test]
fn amplify_behaviour_vector_6_7() {
    let a: [u8; 128] = hex_array(
        "ed32d3352f0cddd88b03a266c387e1a4683d5356ce381463b4b42cf9ccadfaf2b2c40a6706d9e5f320d553628313833e3668d8b0c8f5b0a25a2ca7d926df6d4d860d1415d6eb004973f071102f63a91fa88e862d47e36fc89c9e02ea0956d4e579d74b93fe3eaa13a678bce79050a96c44c30ba32da6e13c53f7a119cfe4df8",
    );
    let srp_b = "38577299009df936c2eae4fa959b32ecd702c22363a71cabaab0cbfadcdb24f6f9e18ea4a3fc32403f5d7e028bc4028c29b861ef6ff8aa041b556c1c2b8aaf079689df8921a761345abdc09d133cab9e9c5c24a6b3d032027fd49d5f7909caf5b17e0b91d81fcb2db6330ef1b5b5a146adb9098ad2ca334743aeb122fa810c6363e4198e0203eb09f044df4c96736fcd537a23a25f79b167cbfe3e0cb93e50b17bf8807f5abf11632588a5bba7ef92951fe70f66ed05df160b8ff06a2cc97acff4062a359c458779bbd48c3135d323300841b2cad82873174c4c7d4d7378d6f1235fb9ecc2f31890c91b50e3fd2987768e8190ea6e7b66beed8dfa4fe1c940d7adfcccd019c3163998af9e1fef2e386f05857fe7671af29b66257b4c8e2f161d426268ec527b693a347faa7901384319cbc7f1fe4d1d7cbca63b966cd8e598307fa808e85aae689358a71ef2151f1cb2f2c5ee9368f55593add7a1d1b99fe663039d50d2bf20969169455b9e911cd1a018232c397aa04e4f532f930951dc3f52";
    let expected_srp_a = "79c45b98151992960cc3329fa4a61ffec316a2a7a624e097e453d4dc57dc3ae7fac07478eb06d0c2b70e960930fb2a58df122fe0bdd0a2895d3e6322846cb8646806bbc1677ec54d0f31518e82ebfd50a737ba6a0e4fa9d9e0b3cc82df1dd2b0f81e21fac7405a620868000cdeb11d05c4bf9bb73726d2680220ccfe8ae969c5a2ca5f027f2fb1ff361bc36927dfcf53dd18fc4b1680817a9f05173ffe0302dd3f390ff6c2e2f2ad0207d0afd76b2aec5dfaa624fcb9d1d61e8af2a4bb579aa267c8c646be04f9eff8c66729179a5cae99bfac32e3a2961ce5fed6e1e78d55830be6adda75872b06290e275354bcec450572d710a11468b7b810a014b27114c2a0bb5baa98d677479b246dc88a1205a0edb22744277d571606da3b41db2728e4b049115442ee35eda2805536784c97260cbb450e7b257749de712299170bb68b53728207f13b0429c9c92118b128d3e1105ba3f24c3d40ac274554b529c4ec766ae656f0bd2009f781fe4f0795a185d3e0e22445b44a6f5ab961b0593f83f357";
    let ephemeral = ClientEphemeral::from_random(&a).unwrap();
    assert_eq!(ephemeral.srp_a().as_str(), expected_srp_a);

    let identity =
        Identity::user("us-east-1_AbCdEfGhI", "9f1c2d3e-0000-4000-8000-123456789abc", "Correct-Horse-1!").unwrap();
    let b = PublicValue::from_hex(Field::SrpB, srp_b).unwrap();
    let u = compute_u(ephemeral.public_value(), &b).unwrap();
    assert_eq!(hex::encode(u.to_be_bytes()), "050f7f5f53858e9fc88555bdcc0672e04b22ca24e118308ed28c87747d18c0db");
    let x = compute_x("6d75c42104e8175ec4e761fe69948343", &identity).unwrap();
    assert_eq!(
        hex::encode(x.expose_secret_be_bytes()),
        "2ed7156e1dbe3bd7a05c631407ab03be3150bc21c5ff3a1e2d6ae1c4c0650586"
    );
    let s = compute_client_premaster(&b, &ephemeral, &u, &x).unwrap();
    assert!(hex::encode(s.expose_secret_be_bytes()).starts_with("0362da608fb94331de9fcbcf61c53289"));
    let key = derive_session_key(&u, &s);
    assert_eq!(hex::encode(key.expose_secret_bytes()), "61f25b53f7866b6d2cb7e326a7fdb110");
    let challenge = Challenge {
        srp_b,
        salt: "6d75c42104e8175ec4e761fe69948343",
        secret_block: "YTdK0MiRlCfiAkM+6XA54oz3/DF58CUJRXFGCEwFBxaJh59P9JNFFhaRca2A0sL7c8+kcfr3+lADkYRxPr2gUg==",
    };
    let signature = ephemeral.sign(&identity, &challenge, "Tue Aug 5 09:03:07 UTC 2025").unwrap();
    assert_eq!(signature.as_str(), "nBsko9i7vTrUdlRHX+bQ2QERF/AhROH/GpFM1puGDNY=");

    // The same SECRET_BLOCK URL-safe and unpadded gives the same signature (Amplify's leniency).
    let url_safe = challenge.secret_block.replace('+', "-").replace('/', "_").replace('=', "");
    let lenient = Challenge { secret_block: &url_safe, ..challenge };
    assert_eq!(ephemeral.sign(&identity, &lenient, "Tue Aug 5 09:03:07 UTC 2025").unwrap(), signature);
}

#[test]
fn amplify_behaviour_device_verifier_6_7() {
    // The vector gives the salt as sent (17 bytes, top bit set); its 16 random
    // bytes are the last 16.
    let salt_sent = base64_decode("AIuCSUqNLCaP9TutuHIwN5M=");
    assert_eq!(salt_sent.len(), 17);
    let random: [u8; 16] = salt_sent[1..].try_into().unwrap();
    let config = DeviceVerifierConfig::generate(
        "-kTAbCdEf",
        "us-east-1_0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
        "xzXAzOThe/le2Vs/kq1IAqosjvWtWsWeg/NagdmoP3RD6yjpwIkmvg==",
        &random,
    )
    .unwrap();
    assert_eq!(config.salt(), "AIuCSUqNLCaP9TutuHIwN5M=");
    assert!(config.password_verifier().starts_with("QIxMGm7EEmWEKe6BKj/zPURnSBfnxlv+9MnZ0s04"));
    assert_eq!(base64_decode(config.password_verifier()).len(), 384);
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    out
}

#[test]
fn degenerate_b_is_rejected() {
    let ephemeral = ClientEphemeral::from_random(&[1; 128]).unwrap();
    let identity = Identity::user("us-east-1_x", "user", "pw").unwrap();
    let two_n = {
        // 2N has 3073 bits: too long for the group, rejected before any math.
        let n = PublicValue::from_hex(Field::SrpB, N_HEX).unwrap();
        let mut carry = 0u16;
        let mut out = vec![0u8; 385];
        for (i, &byte) in n.as_be_bytes().iter().enumerate().rev() {
            let v = (u16::from(byte) << 1) | carry;
            out[i + 1] = v as u8;
            carry = v >> 8;
        }
        out[0] = carry as u8;
        hex::encode(out)
    };
    for srp_b in ["0", "00", N_HEX, two_n.as_str()] {
        let challenge = Challenge { srp_b, salt: "01", secret_block: "AAAA" };
        let result = ephemeral.sign(&identity, &challenge, "Thu Jan 1 00:00:00 UTC 1970");
        assert!(matches!(result, Err(Error::DegenerateB) | Err(Error::TooLong(Field::SrpB))), "{srp_b:.8}: {result:?}");
    }
}

#[test]
fn malformed_challenges_are_errors_not_panics() {
    let ephemeral = ClientEphemeral::from_random(&[9; 128]).unwrap();
    let identity = Identity::user("us-east-1_x", "user", "pw").unwrap();
    let ts = "Thu Jan 1 00:00:00 UTC 1970";
    let cases: [(&str, &str, &str, Error); 7] = [
        ("", "01", "AAAA", Error::Empty(Field::SrpB)),
        ("xyz", "01", "AAAA", Error::InvalidHex(Field::SrpB)),
        ("1234", "", "AAAA", Error::Empty(Field::Salt)),
        ("1234", "0x12", "AAAA", Error::InvalidHex(Field::Salt)),
        ("1234", "01", "", Error::Empty(Field::SecretBlock)),
        ("1234", "01", "not base64!", Error::InvalidBase64(Field::SecretBlock)),
        ("1234", "01", "A", Error::InvalidBase64(Field::SecretBlock)),
    ];
    for (srp_b, salt, secret_block, expected) in cases {
        let challenge = Challenge { srp_b, salt, secret_block };
        assert_eq!(ephemeral.sign(&identity, &challenge, ts), Err(expected), "{srp_b}/{salt}/{secret_block}");
    }
    assert_eq!(Identity::user("nounderscore", "u", "p").unwrap_err(), Error::InvalidPoolId);
    assert_eq!(Identity::user("us-east-1_", "u", "p").unwrap_err(), Error::InvalidPoolId);
    assert_eq!(Identity::user("us-east-1_x", "", "p").unwrap_err(), Error::Empty(Field::UserId));
    assert_eq!(ClientEphemeral::from_random(&[0; 128]).unwrap_err(), Error::ZeroEphemeral);
}

#[test]
fn secrets_are_redacted_in_debug() {
    let ephemeral = ClientEphemeral::from_random(&[0x42; 128]).unwrap();
    let text = format!("{ephemeral:?}");
    assert!(text.contains("<redacted>") && !text.contains("4242424242"), "{text}");
    let identity = Identity::user("us-east-1_x", "user", "hunter2-secret").unwrap();
    assert!(!format!("{identity:?}").contains("hunter2"));
    let password = DevicePassword::from_random(&[1; 40]);
    assert!(!format!("{password:?}").contains(password.expose_secret()));
    let x = compute_x("01", &identity).unwrap();
    assert_eq!(format!("{x:?}"), "PrivateKey(<redacted>)");
}

#[test]
fn secret_hash_matches_the_documented_formula() {
    // base64(HMAC-SHA256("secret", "alice" ‖ "client")) computed with Python's hmac module.
    assert_eq!(secret_hash("secret", "alice", "client").unwrap().as_str(), PYTHON_SECRET_HASH);
    assert_eq!(secret_hash("secret", "alice", ""), Err(Error::Empty(Field::ClientId)));
}

const PYTHON_SECRET_HASH: &str = "RTsve+FQ659UKyESgvLg9GYmZEL+QjzQsW/OjL77/b0=";
