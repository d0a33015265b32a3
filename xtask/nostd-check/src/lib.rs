#![no_std]

use srp_core::{Challenge, ClientEphemeral, Identity};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Runs the client half once, so the linker keeps the code.
#[unsafe(no_mangle)]
pub extern "C" fn srp_core_nostd_check(seed: u8) -> u8 {
    let Ok(ephemeral) = ClientEphemeral::from_random(&[seed | 1; 128]) else { return 0 };
    let Ok(identity) = Identity::user("us-east-1_abc", "user", "password") else { return 0 };
    let challenge = Challenge { srp_b: "1234abcd", salt: "00ff", secret_block: "c2VjcmV0" };
    match ephemeral.sign(&identity, &challenge, "Thu Jan 1 00:00:00 UTC 1970") {
        Ok(signature) => signature.as_bytes()[0],
        Err(_) => 0,
    }
}
