"""Cold start of the app against the local fakes: process start to the result line, median of N runs.

Run by hand from the repo root:  python tests/app/bench_cold_start.py [--runs 10]
Each run is a fresh interpreter (so imports, TLS setup, the Key Vault challenge and the token exchange all count);
the fakes answer immediately, so this is the app's own overhead, not Azure's latency.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import trustme

from tests.fakes.azure import APP_COMMAND, APP_DIR, FakeAzure


def time_to_result_line(env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *APP_COMMAND], cwd=APP_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    _, err = proc.communicate(timeout=30)
    if proc.returncode != 0 or not line.startswith("OK "):
        raise SystemExit(f"run failed (exit {proc.returncode}): {err.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description="Cold start of the app against the local fakes.")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, FakeAzure(Path(workdir), trustme.CA()) as azure:
        env = azure.demo().env()
        time_to_result_line(env)  # warm the OS file cache once; not counted
        samples = [time_to_result_line(env) for _ in range(args.runs)]
    print(
        f"cold start to result line over {args.runs} runs: median {statistics.median(samples) * 1000:.0f} ms, "
        f"min {min(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms ({sys.executable})"
    )


if __name__ == "__main__":
    main()
