"""``medpay run``: all four services on the embedded default, started together.

Each service runs as its own process (as in production); the launcher waits until every
one answers its health check over mTLS, prints where each listens, and on Ctrl-C (or
SIGTERM) stops them all gracefully. It refuses to start when a port is already taken, so a
second ``make run`` cannot open the same SQLite files twice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from medpay_kit.healthcheck import is_serving


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int


STACK = (ServiceSpec("identity", 50051), ServiceSpec("card", 50052),
         ServiceSpec("pharmacy", 50053), ServiceSpec("billing", 50054))


def port_from_env(spec: ServiceSpec) -> int:
    return int(os.environ.get(f"MEDPAY_{spec.name.upper()}_PORT", spec.port))


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def stack_env(pki_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for spec in STACK:
        env.setdefault(f"MEDPAY_{spec.name.upper()}_PORT", str(spec.port))
        env.setdefault(f"MEDPAY_{spec.name.upper()}_PKI_DIR", str(pki_dir))
        env.setdefault(f"MEDPAY_{spec.name.upper()}_TRACE_FILE", f"var/traces/{spec.name}.jsonl")
    targets = {spec.name: f"localhost:{env[f'MEDPAY_{spec.name.upper()}_PORT']}" for spec in STACK}
    env.setdefault("MEDPAY_CARD_IDENTITY_TARGET", targets["identity"])
    env.setdefault("MEDPAY_PHARMACY_CARD_TARGET", targets["card"])
    env.setdefault("MEDPAY_BILLING_CARD_TARGET", targets["card"])
    env.setdefault("MEDPAY_BILLING_IDENTITY_TARGET", targets["identity"])
    return env


def run_stack(pki_dir: Path = Path("var/pki"), log_dir: Path = Path("var/log"),
              timeout: float = 90.0) -> int:
    busy = [spec for spec in STACK if port_in_use(port_from_env(spec))]
    if busy:
        names = ", ".join(f"{s.name} ({port_from_env(s)})" for s in busy)
        print(f"medpay run: port already in use: {names}. Is medpay already running? "
              "Stop it first, or set MEDPAY_<SERVICE>_PORT.", file=sys.stderr)
        return 1
    log_dir.mkdir(parents=True, exist_ok=True)
    env = stack_env(pki_dir)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop_all(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    try:
        for spec in STACK:
            log = (log_dir / f"{spec.name}.log").open("ab")
            procs[spec.name] = subprocess.Popen([sys.executable, "-m", f"medpay_{spec.name}"],
                                                env=env, stdout=log, stderr=subprocess.STDOUT)
            target = f"localhost:{port_from_env(spec)}"
            deadline = time.monotonic() + timeout
            while not is_serving(target, pki_dir, timeout=1.0):
                if procs[spec.name].poll() is not None or time.monotonic() > deadline or stopping:
                    print(f"medpay run: {spec.name} did not start; see {log_dir / spec.name}.log",
                          file=sys.stderr)
                    return 1
                time.sleep(0.2)
            print(f"  {spec.name:<9} listening on {target} (mTLS)  log: {log_dir / spec.name}.log",
                  flush=True)
        print("medpay is running. Try `make demo` in another terminal; Ctrl-C stops everything.",
              flush=True)
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"medpay run: {name} exited ({proc.returncode}); stopping the others.",
                          file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                print(f"medpay run: {name} had to be killed", file=sys.stderr)
        if procs:
            print("medpay stopped.", flush=True)
