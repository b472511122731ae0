"""How the command line reaches the services: targets, the client certificate, credentials,
and errors printed as their reason instead of a traceback."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import grpc

from medpay.billing.v1 import billing_pb2_grpc
from medpay.card.v1 import card_pb2_grpc
from medpay.identity.v1 import identity_pb2_grpc
from medpay.pharmacy.v1 import pharmacy_pb2_grpc
from medpay_kit.client import blocking_channel, error_info
from medpay_kit.errors import OUTCOME_UNKNOWN_REASONS

PORTS = {"identity": 50051, "card": 50052, "pharmacy": 50053, "billing": 50054}
STUBS: dict[str, Callable[[grpc.Channel], Any]] = {
    "identity": identity_pb2_grpc.IdentityServiceStub,
    "card": card_pb2_grpc.CardServiceStub,
    "pharmacy": pharmacy_pb2_grpc.PharmacyServiceStub,
    "billing": billing_pb2_grpc.BillingServiceStub,
}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Session:
    """What every command gets: where the services are and which certificate to show."""

    pki_dir: Path

    def target(self, service: str) -> str:
        port = os.environ.get(f"MEDPAY_{service.upper()}_PORT", PORTS[service])
        return os.environ.get(f"MEDPAY_{service.upper()}_TARGET", f"localhost:{port}")

    def operator_token(self) -> str:
        path = Path(os.environ.get("MEDPAY_OPERATOR_TOKEN_FILE", self.pki_dir / "operator.token"))
        return path.read_text().strip()

    def app_token(self) -> str:
        return (self.pki_dir / "app.token").read_text().strip()

    def stub(self, service: str, token: str | None) -> Any:
        channel = blocking_channel(self.target(service), self.pki_dir, token=token,
                                   max_message_bytes=16 * 1024 * 1024)
        return STUBS[service](channel)


pass_session = click.make_pass_decorator(Session)


def reports_errors(fn: F) -> F:
    """Print a refused call as ``error: REASON: message`` and exit 1 — no traceback.

    An outcome-unknown answer (UNAVAILABLE / ``OUTCOME_UNKNOWN``, DEADLINE_EXCEEDED,
    ``REQUEST_IN_PROGRESS``) says so and exits 3: repeat it, do not start again.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as exc:
            info = error_info(exc)
            reason = info.reason if info else exc.code().name  # type: ignore[attr-defined]
            extra = "".join(f" {k}={v}" for k, v in sorted(info.metadata.items())) if info else ""
            click.echo(f"error: {reason}: {exc.details()}{extra}", err=True)  # type: ignore[attr-defined]
            if reason in OUTCOME_UNKNOWN_REASONS:
                click.echo("outcome unknown: it may have taken effect and is being finished or "
                           "undone; repeat it with the same request id or look it up, never "
                           "start again with a new one", err=True)
                sys.exit(3)
            sys.exit(1)
        except (FileNotFoundError, ValueError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def new_request_id(prefix: str) -> str:
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:16]}"
