#!/usr/bin/env python3
"""The same client operation with GMP's constant-time modexp (gmpy2.powmod_sec).

A constant-time baseline for srp-core: A = g^a, g^x and S = (B - k*g^x)^(a+u*x)
all use mpz_powm_sec; hashing, HKDF and the signature as Cognito does them.
Run by `cargo xtask bench srp`.
"""

import base64
import hashlib
import hmac
import os
import sys
from importlib.metadata import version
from pathlib import Path

import gmpy2
from gmpy2 import mpz

sys.path.insert(0, str(Path(__file__).resolve().parent))
from srp_bench_common import measure, parse_args  # noqa: E402

N = mpz(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
G = mpz(2)


def pad(n):
    h = format(int(n), "x")
    if len(h) % 2:
        h = "0" + h
    elif h[0] in "89abcdef":
        h = "00" + h
    return bytes.fromhex(h)


def H(b):
    return hashlib.sha256(b).digest()


K = mpz(int.from_bytes(H(pad(N) + pad(G)), "big"))


def client_op(pool_id, user, password, srp_b_hex, salt_hex, secret_block_b64, timestamp, a_bytes=None):
    a = mpz(int.from_bytes(a_bytes if a_bytes is not None else os.urandom(128), "big"))
    big_a = gmpy2.powmod_sec(G, a, N)
    big_b = mpz(srp_b_hex, 16)
    if big_b % N == 0:
        raise ValueError("B cannot be zero")
    u = mpz(int.from_bytes(H(pad(big_a) + pad(big_b)), "big"))
    if u == 0:
        raise ValueError("u cannot be zero")
    pool_name = pool_id.split("_")[1]
    ident = H(f"{pool_name}{user}:{password}".encode())
    x = mpz(int.from_bytes(H(pad(mpz(salt_hex, 16)) + ident), "big"))
    gx = gmpy2.powmod_sec(G, x, N)
    base = (big_b - K * gx) % N
    s = gmpy2.powmod_sec(base, a + u * x, N)
    prk = hmac.new(pad(u), pad(s), hashlib.sha256).digest()
    key = hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
    msg = pool_name.encode() + user.encode() + base64.b64decode(secret_block_b64) + timestamp.encode()
    return format(int(big_a), "x"), base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def main():
    args = parse_args()
    c = args.challenge

    def op():
        return client_op(c["pool_id"], c["username"], c["password"], c["srp_b"], c["salt"], c["secret_block"],
                         c["timestamp"])

    # Self-check against the challenge's known answer for a fixed a.
    if "check_a_hex" in c:
        _, sig = client_op(c["pool_id"], c["username"], c["password"], c["srp_b"], c["salt"], c["secret_block"],
                           c["timestamp"], bytes.fromhex(c["check_a_hex"]))
        if sig != c["check_signature"]:
            raise SystemExit(f"gmpy2 baseline computes a wrong signature: {sig} != {c['check_signature']}")
    measure("gmpy2 powmod_sec (GMP, constant-time)", f"gmpy2 {version('gmpy2')}, {gmpy2.mp_version()}",
            args.iterations, args.warmup, op)


if __name__ == "__main__":
    main()
