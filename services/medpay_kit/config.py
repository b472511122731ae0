"""Configuration from environment variables: one prefix per service, validated at start.

Each service subclasses :class:`ServiceSettings` with ``env_prefix="MEDPAY_<SVC>_"`` and
its own defaults. :func:`load_settings` turns a bad value into a short message naming the
variable and exits, instead of a stack trace.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class ServiceSettings(BaseSettings):
    """Settings every medpay service has. Subclasses set the prefix and defaults."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    database_url: str = ""
    pki_dir: Path = Path("var/pki")
    plaintext: bool = False  # only ever set explicitly, for local experiments
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    trace_file: Path | None = None
    operator_token_file: Path = Path("var/pki/operator.token")
    clock_offset_file: Path | None = None  # test aid: seconds added to the wall clock
    max_message_bytes: int = Field(default=4 * MiB, ge=64 * 1024, le=64 * MiB)
    shutdown_grace_s: float = Field(default=5.0, ge=0, le=120)
    peer_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # the health watchdog (medpay_kit.watchdog): how often it probes, and how long a check may take
    health_interval_s: float = Field(default=5.0, gt=0, le=300)
    health_timeout_s: float = Field(default=3.0, gt=0, le=60)
    # Benchmark only, honoured by the echo service alone: serve with no interceptor (so no
    # authentication) and no telemetry, to measure what the cross-cutting code costs.
    bare: bool = False


S = TypeVar("S", bound=ServiceSettings)


def env_name(settings_cls: type[BaseSettings], field: str) -> str:
    prefix = settings_cls.model_config.get("env_prefix", "")
    return f"{prefix}{field}".upper()


def load_settings(settings_cls: type[S]) -> S:
    """Read and validate settings; on a bad value print what is wrong and exit 2."""
    try:
        return settings_cls()
    except ValidationError as exc:
        lines = [f"invalid configuration for {settings_cls.__name__}:"]
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            lines.append(f"  {env_name(settings_cls, field)}: {err['msg']}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None
