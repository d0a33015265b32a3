#!/usr/bin/env python3
"""pycognito's AWSSRP: one whole client SRP operation per iteration.

A fresh AWSSRP (128 random bytes -> a, A = g^a) and its process_challenge on
a fixed PASSWORD_VERIFIER challenge (u, x, g^x, S, HKDF, the signature), the
same work its authenticate_user does between the two requests.
Run by `cargo xtask bench srp`.
"""

import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from srp_bench_common import measure, parse_args  # noqa: E402

from pycognito.aws_srp import AWSSRP  # noqa: E402


class NoClient:
    """Stands in for the boto3 client; the operation never makes a request."""


def main():
    args = parse_args()
    c = args.challenge
    params = {"SRP_B": c["srp_b"], "SALT": c["salt"], "SECRET_BLOCK": c["secret_block"],
              "USER_ID_FOR_SRP": c["username"], "USERNAME": c["username"]}
    # process_challenge formats the current time; the self-check needs the challenge's TIMESTAMP.
    import pycognito.aws_srp as aws_srp

    aws_srp.AWSSRP.get_cognito_formatted_timestamp = staticmethod(lambda _now: c["timestamp"])

    def op():
        srp = AWSSRP(username=c["username"], password=c["password"], pool_id=c["pool_id"], client_id="bench",
                     client=NoClient())
        return srp.process_challenge(params, {"USERNAME": c["username"]})["PASSWORD_CLAIM_SIGNATURE"]

    # Self-check: with the challenge's fixed a (fed through os.urandom), the signature must match.
    if "check_a_hex" in c:
        import os

        real, feed = os.urandom, bytes.fromhex(c["check_a_hex"])
        os.urandom = lambda n: feed[:n]
        try:
            sig = op()
        finally:
            os.urandom = real
        if sig != c["check_signature"]:
            raise SystemExit(f"pycognito computes {sig}, expected {c['check_signature']}")
    measure("pycognito AWSSRP", version("pycognito"), args.iterations, args.warmup, op)


if __name__ == "__main__":
    main()
