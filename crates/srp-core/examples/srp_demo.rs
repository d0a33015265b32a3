//! A complete Cognito SRP sign-in, client and server, in one process: what
//! travels on the wire at each step, and how long the maths takes.
//!
//! `cargo run --release -p srp-core --example srp_demo`

#![allow(clippy::expect_used, reason = "an example may abort on a failed OS RNG")]

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use srp_core::{
    Challenge, ClientEphemeral, DevicePassword, DeviceVerifierConfig, Identity, ServerEphemeral, Timestamp,
    compute_verifier, compute_x, decode_device_verifier, secret_hash,
};

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the OS random number generator failed");
    out
}

fn short(s: &str) -> String {
    if s.len() > 40 { format!("{}…{} ({} chars)", &s[..24], &s[s.len() - 8..], s.len()) } else { s.to_owned() }
}

fn main() -> Result<(), srp_core::Error> {
    let pool_id = "us-east-1_LocalDemo";
    let (username, password) = ("alice", "correct horse battery staple");
    println!("Cognito SRP, both halves, for user {username:?} of pool {pool_id}\n");

    // Sign-up: the server keeps a salt and the verifier v = g^x, never the password.
    let salt = hex::encode(random::<16>());
    let user = Identity::user(pool_id, username, password)?;
    let started = Instant::now();
    let verifier = compute_verifier(&compute_x(&salt, &user)?);
    println!("sign-up     server stores SALT={salt} and v={} ({:?})", short(&verifier.to_hex()), started.elapsed());

    // InitiateAuth USER_SRP_AUTH: the client sends SRP_A.
    let started = Instant::now();
    let client = ClientEphemeral::from_random(&random::<128>())?;
    let srp_a = client.srp_a();
    println!(
        "client  ->  InitiateAuth {{ USERNAME: {username:?}, SRP_A: {} }} ({:?})",
        short(&srp_a),
        started.elapsed()
    );

    // The server answers PASSWORD_VERIFIER with SRP_B, SALT and SECRET_BLOCK.
    let started = Instant::now();
    let server = ServerEphemeral::from_random(&random::<32>(), &verifier)?;
    let srp_b = server.srp_b();
    let secret_block = base64(&random::<48>());
    println!(
        "server  ->  PASSWORD_VERIFIER {{ SRP_B: {}, SALT: {salt}, SECRET_BLOCK: {}, USER_ID_FOR_SRP: {username:?} }} ({:?})",
        short(&srp_b),
        short(&secret_block),
        started.elapsed()
    );

    // The client proves knowledge of the password.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let timestamp = Timestamp::from_unix_seconds(now)?;
    let challenge = Challenge { srp_b: &srp_b, salt: &salt, secret_block: &secret_block };
    let started = Instant::now();
    let signature = client.sign(&user, &challenge, timestamp.as_str())?;
    println!(
        "client  ->  RespondToAuthChallenge {{ TIMESTAMP: {:?}, PASSWORD_CLAIM_SIGNATURE: {signature} }} ({:?})",
        timestamp.as_str(),
        started.elapsed()
    );

    // The server recomputes the signature and compares in constant time.
    let started = Instant::now();
    server.verify(user.public(), &verifier, &srp_a, &secret_block, timestamp.as_str(), &signature)?;
    println!("server      signature verified: tokens would be issued now ({:?})", started.elapsed());

    let impostor = Identity::user(pool_id, username, "wrong password")?;
    let forged = client.sign(&impostor, &challenge, timestamp.as_str())?;
    let verdict = server.verify(user.public(), &verifier, &srp_a, &secret_block, timestamp.as_str(), &forged);
    println!("server      a wrong password is refused: {}", verdict.err().map(|e| e.to_string()).unwrap_or_default());

    // Remembering the device: ConfirmDevice with a verifier, then device SRP.
    let device_password = DevicePassword::from_random(&random::<40>());
    let (group_key, device_key) = ("-kTDemoGroup", "us-east-1_5d0c8a4e-1b2c-4d5e-8f90-0123456789ab");
    let config =
        DeviceVerifierConfig::generate(group_key, device_key, device_password.expose_secret(), &random::<16>())?;
    println!(
        "\nclient  ->  ConfirmDevice {{ DeviceKey: {device_key:?}, Salt: {}, PasswordVerifier: {} }}",
        config.salt(),
        short(config.password_verifier())
    );
    let (device_v, device_salt) = decode_device_verifier(config.salt(), config.password_verifier())?;
    let device = Identity::device(group_key, device_key, device_password.expose_secret())?;
    let device_client = ClientEphemeral::from_random(&random::<128>())?;
    let device_server = ServerEphemeral::from_random(&random::<32>(), &device_v)?;
    let device_b = device_server.srp_b();
    let device_challenge = Challenge { srp_b: &device_b, salt: &device_salt, secret_block: &secret_block };
    let device_signature = device_client.sign(&device, &device_challenge, timestamp.as_str())?;
    device_server.verify(
        device.public(),
        &device_v,
        &device_client.srp_a(),
        &secret_block,
        timestamp.as_str(),
        &device_signature,
    )?;
    println!("server      DEVICE_PASSWORD_VERIFIER accepted for device {device_key}");

    println!(
        "\nSECRET_HASH for an app client with a secret: {}",
        secret_hash("client-secret", username, "1example23456789client")?
    );
    Ok(())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}
