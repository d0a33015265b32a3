//! Criterion benchmarks of the SRP operations. For the side-by-side
//! comparison with pycognito, amazon-cognito-identity-js and a GMP baseline,
//! run `cargo xtask bench srp`.

#![allow(clippy::unwrap_used, reason = "a benchmark aborts on a broken fixture")]

use criterion::{Criterion, criterion_group, criterion_main};
use srp_core::{
    Challenge, ClientEphemeral, DevicePassword, DeviceVerifierConfig, Identity, ServerEphemeral, compute_verifier,
    compute_x,
};
use std::hint::black_box;

const POOL: &str = "us-east-1_abcdefghi";
const USER: &str = "11111111-2222-3333-4444-555555555555";
const PASSWORD: &str = "Passw0rd!Passw0rd!";
const TS: &str = "Sun Nov 22 07:30:00 UTC 2026";

fn challenge_b() -> String {
    format!("5a{}", "3c".repeat(383))
}

fn secret_block() -> String {
    format!("{}Wg==", "Wlpa".repeat(21))
}

fn random128(seed: u8) -> [u8; 128] {
    core::array::from_fn(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
}

fn bench(c: &mut Criterion) {
    let srp_b = challenge_b();
    let block = secret_block();
    let challenge = Challenge { srp_b: &srp_b, salt: "8b3f0c6c21a6c1d7a2b1e2e8d4a3c9f1", secret_block: &block };
    let identity = Identity::user(POOL, USER, PASSWORD).unwrap();

    c.bench_function("client: SRP_A + PASSWORD_CLAIM_SIGNATURE", |bench| {
        bench.iter(|| {
            let eph = ClientEphemeral::from_random(black_box(&random128(1))).unwrap();
            black_box(eph.srp_a());
            black_box(eph.sign(&identity, &challenge, TS).unwrap())
        })
    });

    c.bench_function("client: SRP_A only (can run before the user submits)", |bench| {
        bench.iter(|| ClientEphemeral::from_random(black_box(&random128(2))).unwrap())
    });

    let precomputed = ClientEphemeral::from_random(&random128(3)).unwrap();
    c.bench_function("client: PASSWORD_CLAIM_SIGNATURE with A precomputed", |bench| {
        bench.iter(|| black_box(precomputed.sign(&identity, &challenge, TS).unwrap()))
    });

    let device_password = DevicePassword::from_random(&[9; 40]);
    c.bench_function("device: ConfirmDevice verifier", |bench| {
        bench.iter(|| {
            DeviceVerifierConfig::generate("-kTAbCdEf", "us-east-1_dev", device_password.expose_secret(), &[0x8b; 16])
                .unwrap()
        })
    });
    let device = Identity::device("-kTAbCdEf", "us-east-1_dev", device_password.expose_secret()).unwrap();
    c.bench_function("device: DEVICE_SRP_AUTH + DEVICE_PASSWORD_VERIFIER", |bench| {
        bench.iter(|| {
            let eph = ClientEphemeral::from_random(black_box(&random128(4))).unwrap();
            black_box(eph.srp_a());
            black_box(eph.sign(&device, &challenge, TS).unwrap())
        })
    });

    let salt = "8b3f0c6c21a6c1d7a2b1e2e8d4a3c9f1";
    let v = compute_verifier(&compute_x(salt, &identity).unwrap());
    let client = ClientEphemeral::from_random(&random128(5)).unwrap();
    let srp_a = client.srp_a();
    let server_for_sig = ServerEphemeral::from_random(&[0x33; 32], &v).unwrap();
    let srp_b2 = server_for_sig.srp_b();
    let sig = client.sign(&identity, &Challenge { srp_b: &srp_b2, salt, secret_block: &block }, TS).unwrap();
    c.bench_function("server: SRP_B + verify claim (256-bit b)", |bench| {
        bench.iter(|| {
            let server = ServerEphemeral::from_random(black_box(&[0x33; 32]), &v).unwrap();
            black_box(server.srp_b());
            server.verify(identity.public(), &v, &srp_a, &block, TS, &sig).unwrap()
        })
    });
    c.bench_function("server: verifier at sign-up", |bench| {
        bench.iter(|| compute_verifier(&compute_x(black_box(salt), &identity).unwrap()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
