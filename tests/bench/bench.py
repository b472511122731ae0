"""``make bench``: settlement throughput and latency against the framework's own ceiling.

One run, one machine: a bare gRPC echo on the same bootstrap, TLS and interceptors (and
once without interceptors), then ``Settle`` through the real card + pharmacy on SQLite and
on PostgreSQL, each measured with the same asyncio load generator: the maximum (16 calls
in flight), then p50/p99 at half of that maximum (open loop). It prints one table, writes
the same as JSON under ``var/bench/``, and audits the databases after the load. A
benchmark, not a test: it never fails on speed, only on a wrong result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "services")]

import grpc  # noqa: E402
from echo_bench import run_echo, run_echo_at  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from settle_bench import (  # noqa: E402
    audit,
    cpu_ms_per_call,
    cpu_seconds,
    make_contexts,
    measure,
    prefill_settlements,
    rss_mb,
    seed,
    start,
)

from medpay_kit.pki import ensure_pki  # noqa: E402
from support.harness import Stack  # noqa: E402

console = Console(width=150)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def echo_runs(work: Path, pki: Path, duration: float) -> dict:
    out = {}
    for label, env in (("echo (kit: TLS + interceptors + telemetry)", {}),
                       ("echo (bare: TLS, no interceptors)", {"bare": "true"})):
        stack = Stack(work / label.split()[1].strip("(:"), pki)
        stack.workdir.mkdir(parents=True, exist_ok=True)
        proc = stack.start("echo", log_level="warning", **env)
        try:
            peak, half = run_echo(proc.target, pki, stack.operator_token, duration)
            out[label] = {"max": peak.as_dict(), "half": half.as_dict(), "rss_mb": rss_mb(stack)}
        finally:
            stack.stop()
    return out


def echo_at_settle_rates(work: Path, pki: Path, duration: float, settle: dict) -> None:
    """The kit echo at each Settle run's half-maximum rate: the p99 the target compares."""
    stack = Stack(work / "echo-at-rate", pki)
    stack.workdir.mkdir(parents=True, exist_ok=True)
    proc = stack.start("echo", log_level="warning")
    try:
        backends = list(settle)
        rates = [max(1.0, settle[b]["max"]["per_second"] / 2) for b in backends]
        for backend, result in zip(backends, run_echo_at(proc.target, pki, stack.operator_token,
                                                         rates, duration), strict=True):
            settle[backend]["echo_at_same_rate"] = result.as_dict()
    finally:
        stack.stop()


def measure_with_cpu(rig, duration: float):  # type: ignore[no-untyped-def]
    """The maximum (closed loop) and the CPU ms per settle each service spent on it."""
    before = cpu_seconds(rig.stack)
    result = measure(rig, duration)
    return result, cpu_ms_per_call(before, cpu_seconds(rig.stack), result.calls - result.errors)


def settle_run(work: Path, pki: Path, backend: str, duration: float, people: int,
               grow_to: int) -> dict:
    stack = Stack(work / backend, pki, backend)
    stack.workdir.mkdir(parents=True, exist_ok=True)
    try:
        rig = start(stack)
        t0 = time.monotonic()
        seed(rig, people)
        make_contexts(rig, int(duration * 1500))
        console.print(f"[{backend}] seeded {people} people and {len(rig.contexts)} payment "
                      f"contexts in {time.monotonic() - t0:.0f} s")
        measure(rig, 1.0)  # warm-up
        peak, cpu = measure_with_cpu(rig, duration)
        half = measure(rig, duration, rate=max(1.0, peak.per_second / 2))
        result = {"max": peak.as_dict(), "half": half.as_dict(), "cpu_ms_per_settle": cpu}
        if grow_to:
            rows_before = prefill_settlements(rig, 0)
            small, small_cpu = measure_with_cpu(rig, duration)
            rows = prefill_settlements(rig, grow_to)
            console.print(f"[{backend}] settlements table grown to {rows} rows")
            large, large_cpu = measure_with_cpu(rig, duration)
            result["growth"] = {"rows_small": rows_before, "small": small.as_dict(),
                                "small_cpu_ms": small_cpu, "rows_large": rows,
                                "large": large.as_dict(), "large_cpu_ms": large_cpu}
        result["rss_mb"] = rss_mb(stack)
        result["audit"] = audit(rig)
        return result
    finally:
        stack.stop()


PG_SCRIPT = ROOT / "tests/support/postgres.sh"


def postgres_url(work: Path) -> tuple[str, str, bool]:
    """A PostgreSQL to measure on: the one configured, or one started here (True: stop it)."""
    url = os.environ.get("MEDPAY_TEST_POSTGRES_URL") or os.environ.get("MEDPAY_BENCH_POSTGRES_URL")
    if url:
        return url, _pg_version(url), False
    out = subprocess.run(["bash", str(PG_SCRIPT), "55499", str(work / "pgdata")], check=True,
                         capture_output=True, text=True)
    url = out.stdout.strip().splitlines()[-1]
    return url, _pg_version(url), True


def _pg_version(url: str) -> str:
    from settle_bench import _scalar

    return str(_scalar(url, "SHOW server_version"))


def table(results: dict) -> Table:
    t = Table(title="medpay bench (one run, this machine)", title_justify="left")
    for col in ("workload", "max/s", "× echo", "p50 @½max ms", "p99 @½max ms",
                "echo p99 same rate ms", "p99 ÷ echo p99", "RSS MB"):
        t.add_column(col, justify="left" if col == "workload" else "right")
    echo = results["echo"]["echo (kit: TLS + interceptors + telemetry)"]["max"]["per_second"]
    for label, r in results["echo"].items():
        t.add_row(label, f"{r['max']['per_second']:.0f}", f"{r['max']['per_second'] / echo:.2f}",
                  f"{r['half']['p50_ms']:.1f}", f"{r['half']['p99_ms']:.1f}", "", "",
                  ", ".join(f"{v:.0f}" for v in r["rss_mb"].values()))
    for backend, r in results["settle"].items():
        same = r.get("echo_at_same_rate", {}).get("p99_ms")
        t.add_row(f"Settle on {backend} (pharmacy → card)", f"{r['max']['per_second']:.0f}",
                  f"{r['max']['per_second'] / echo:.2f}", f"{r['half']['p50_ms']:.1f}",
                  f"{r['half']['p99_ms']:.1f}", f"{same:.1f}" if same else "",
                  f"{r['half']['p99_ms'] / same:.1f}" if same else "",
                  ", ".join(f"{k} {v:.0f}" for k, v in r["rss_mb"].items()))
        growth = r.get("growth")
        if growth:
            for size in ("small", "large"):
                g = growth[size]
                t.add_row(f"  Settle on {backend}, settlements table {growth['rows_' + size]:,} rows",
                          f"{g['per_second']:.0f}", f"{g['per_second'] / echo:.2f}",
                          f"{g['p50_ms']:.1f}", f"{g['p99_ms']:.1f}", "", "", "")
    return t


def _cpu(per_service: dict[str, float]) -> str:
    shown = {name: ms for name, ms in per_service.items() if name != "identity"}  # idle here
    return ", ".join(f"{name} {ms:.1f} ms" for name, ms in shown.items()) + \
        f" (together {sum(shown.values()):.1f} ms)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--grow-to", type=int, default=1_000_000,
                        help="settlements rows for the growth check on SQLite (0: skip)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = ROOT / "var" / "bench" / f"run-{stamp}"
    pki = ensure_pki(work / "pki")
    results: dict = {"when": stamp, "versions": {
        "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
        "grpcio": grpc.__version__, "sqlite": sqlite3.sqlite_version}}
    console.print("measuring the echo ceiling …")
    results["echo"] = echo_runs(work, pki, args.duration)
    results["settle"] = {}
    console.print("measuring Settle on SQLite …")
    results["settle"]["SQLite"] = settle_run(work, pki, "sqlite", args.duration, args.people,
                                             args.grow_to)
    if not args.no_postgres:
        url, version, started = postgres_url(work)
        os.environ["MEDPAY_TEST_POSTGRES_URL"] = url
        results["versions"]["postgresql"] = version
        console.print("measuring Settle on PostgreSQL …")
        try:
            results["settle"]["PostgreSQL"] = settle_run(work, pki, "postgres", args.duration,
                                                         args.people, 0)
        finally:
            if started:  # the next run needs the port
                subprocess.run(["bash", str(PG_SCRIPT), "stop", str(work / "pgdata")], check=False)
    echo_at_settle_rates(work, pki, args.duration, results["settle"])
    console.print(table(results))
    console.print(" · ".join(f"{k}: {v}" for k, v in results["versions"].items()))
    for backend, r in results["settle"].items():
        console.print(f"CPU per settle at the maximum on {backend}: {_cpu(r['cpu_ms_per_settle'])}")
        growth = r.get("growth")
        if growth:
            console.print(f"  with {growth['rows_small']:,} settlement rows: "
                          f"{_cpu(growth['small_cpu_ms'])}; with {growth['rows_large']:,}: "
                          f"{_cpu(growth['large_cpu_ms'])}")
    for backend, r in results["settle"].items():
        a = r["audit"]
        verdict = "[green]correct[/green]" if a["ok"] else "[red]WRONG[/red]"
        console.print(f"audit after load on {backend}: {verdict} — ledger sum {a['ledger_sum']}, "
                      f"unbalanced transactions {a['ledger_unbalanced_transactions']}, negative "
                      f"balances {a['negative_balances']}, duplicate request ids "
                      f"{a['duplicate_request_ids']}, {a['completed_settlements']} settlements for "
                      f"{a['successful_settle_calls']} successful calls")
    out = ROOT / "var" / "bench" / f"bench-{stamp}.json"
    out.write_text(json.dumps(results, indent=2, default=str))  # PostgreSQL sums are Decimal
    console.print(f"written {out.relative_to(ROOT)}")
    if not all(r["audit"]["ok"] for r in results["settle"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
