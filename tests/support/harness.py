"""Real services in real processes for tests: mTLS, real databases, health-checked.

``Stack`` starts ``python -m medpay_<name>`` subprocesses on free ports against SQLite files
(or fresh PostgreSQL databases), wires their peers, waits until the stock health service
answers SERVING over mTLS, and stops them with SIGTERM (or kills them, for crash tests).
Each process's output goes to a log file that the fixtures print when a test fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc

from medpay_kit.client import blocking_channel
from medpay_kit.healthcheck import is_serving

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ENV = "MEDPAY_TEST_POSTGRES_URL"

#: which peer targets each service is given: MEDPAY_<SVC>_<PEER>_TARGET
PEERS = {
    "identity": (),
    "card": ("identity",),
    "pharmacy": ("card",),
    "billing": ("card", "identity"),
    "echo": (),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backends() -> list[str]:
    return ["sqlite", "postgres"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]


def create_postgres_database() -> str:
    """A fresh, empty PostgreSQL database; returns its SQLAlchemy URL."""
    import asyncpg

    base = os.environ[POSTGRES_ENV]
    name = f"medpay_t_{uuid.uuid4().hex[:12]}"
    dsn = base.replace("postgresql+asyncpg://", "postgresql://")

    async def create() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return base.rsplit("/", 1)[0] + "/" + name


class ServiceProcess:
    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.workdir = workdir
        self.env = env
        self.port = int(env[f"MEDPAY_{name.upper()}_PORT"])
        self.target = f"localhost:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.trace_path = Path(env[f"MEDPAY_{name.upper()}_TRACE_FILE"])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"medpay_{self.name}"], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> None:
        pki = Path(self.env[f"MEDPAY_{self.name.upper()}_PKI_DIR"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                   f"{self.logs()[-4000:]}")
            if is_serving(self.target, pki, timeout=1.0):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not healthy after {timeout}s:\n{self.logs()[-4000:]}")

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: a crash, for recovery tests."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> ServiceProcess:
        self.stop()
        return self.start()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Stack:
    """A set of medpay services for one test (or one module)."""

    def __init__(self, workdir: Path, pki: Path, backend: str = "sqlite") -> None:
        self.workdir = workdir
        self.pki = pki
        self.backend = backend
        self.clock_file = workdir / "clock_offset"
        self.services: dict[str, ServiceProcess] = {}
        self.operator_token = (pki / "operator.token").read_text().strip()
        self.app_token = (pki / "app.token").read_text().strip()

    def database_url(self, name: str) -> str:
        if self.backend == "postgres":
            return create_postgres_database()
        return f"sqlite+aiosqlite:///{self.workdir / f'{name}.db'}"

    def start(self, name: str, **extra_env: str) -> ServiceProcess:
        prefix = f"MEDPAY_{name.upper()}_"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDPAY_")}
        env.update({
            "PYTHONPATH": str(ROOT / "services"),
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}PORT": str(free_port()),
            f"{prefix}DATABASE_URL": self.database_url(name),
            f"{prefix}PKI_DIR": str(self.pki),
            f"{prefix}OPERATOR_TOKEN_FILE": str(self.pki / "operator.token"),
            f"{prefix}LOG_FORMAT": "json",
            f"{prefix}TRACE_FILE": str(self.workdir / f"{name}.spans.jsonl"),
            f"{prefix}CLOCK_OFFSET_FILE": str(self.clock_file),
            f"{prefix}KEYRING_FILE": str(self.workdir / "keys" / f"{name}.json"),
        })
        for peer in PEERS.get(name, ()):
            if peer in self.services:
                env[f"{prefix}{peer.upper()}_TARGET"] = self.services[peer].target
        env.update({f"{prefix}{k.upper()}": v for k, v in extra_env.items()})
        proc = ServiceProcess(name, self.workdir, env)
        self.services[name] = proc
        return proc.start()

    def channel(self, name: str, token: str | None = None, identity: str = "client") -> grpc.Channel:
        return blocking_channel(self.services[name].target, self.pki, identity=identity,
                                token=token, max_message_bytes=32 * 1024 * 1024)

    def move_clock(self, seconds: float) -> None:
        """Move every service's clock forward (shared offset file)."""
        current = float(self.clock_file.read_text()) if self.clock_file.exists() else 0.0
        self.clock_file.write_text(str(current + seconds))
        time.sleep(0.25)  # services re-read the offset at most every 0.1 s

    def logs(self) -> str:
        return "\n".join(f"===== {n} =====\n{p.logs()}" for n, p in self.services.items())

    def stop(self) -> None:
        for proc in reversed(list(self.services.values())):
            proc.stop()
