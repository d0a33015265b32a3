"""Shared by the Python SRP benchmark peers: argument parsing and timing.

Each peer prints one JSON line:
{"name", "version", "iterations", "median_us", "min_us", "p90_us"}
"""

import argparse
import json
import time


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--challenge", required=True, help="JSON: pool_id, username, password, srp_b, salt, secret_block, "
                                                       "timestamp, expected_signature_for_a (optional check)")
    args = ap.parse_args()
    args.challenge = json.loads(args.challenge)
    return args


def measure(name, version, iterations, warmup, op):
    for _ in range(warmup):
        op()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter_ns()
        op()
        samples.append((time.perf_counter_ns() - t0) / 1000.0)
    samples.sort()
    p90 = samples[min(len(samples) - 1, (len(samples) * 9 + 9) // 10 - 1)]
    n = len(samples)
    median = samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) / 2
    print(json.dumps({"name": name, "version": version, "iterations": iterations, "median_us": round(median, 1),
                      "min_us": round(samples[0], 1), "p90_us": round(p90, 1)}), flush=True)
