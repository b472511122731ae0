"""Server bootstrap shared by every service.

``run(SettingsClass, "card", build)`` is a service's whole ``__main__``: it loads settings,
sets up logging and telemetry, lets the service's composition root ``build`` wire its
parts (database, peers, servicers, background loops), then serves on grpc.aio with mTLS,
the stock health service and reflection, explicit message size limits, and graceful
shutdown on SIGTERM/SIGINT (health NOT_SERVING, then ``stop(grace)``). A watchdog
(``medpay_kit.watchdog``) keeps health NOT_SERVING while the databases, the service's own
checks or its background jobs fail.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from medpay_kit.access import ServiceAccess
from medpay_kit.auth import Authenticator, CallerKind, Resolver, static_resolver
from medpay_kit.client import service_channel
from medpay_kit.clock import Clock
from medpay_kit.config import ServiceSettings, load_settings
from medpay_kit.db import Database
from medpay_kit.interceptor import CallInterceptor
from medpay_kit.logging import configure_logging
from medpay_kit.migrations import upgrade
from medpay_kit.telemetry import Telemetry
from medpay_kit.watchdog import Check, Watchdog, tasks_running

log = structlog.get_logger()


@dataclass
class Servicer:
    add_to_server: Callable[[Any, grpc.aio.Server], None]  # the generated add_XServicer_to_server
    servicer: Any
    full_name: str  # e.g. "medpay.card.v1.CardService"


@dataclass
class App:
    """What a service's composition root hands to the bootstrap."""

    servicers: Sequence[Servicer]
    access: ServiceAccess  # who may call which RPC (medpay_kit.access)
    resolvers: Mapping[str, Resolver] = field(default_factory=dict)
    background: Sequence[Callable[[], Awaitable[None]]] = ()
    #: the service's own health checks (name → coroutine that raises when it cannot serve)
    checks: Mapping[str, Check] = field(default_factory=dict)


class Runtime:
    """Process-wide things a composition root may ask for; closed by the bootstrap."""

    def __init__(self, name: str, settings: ServiceSettings, telemetry: Telemetry) -> None:
        self.name = name
        self.settings = settings
        self.telemetry = telemetry
        self.clock = Clock(settings.clock_offset_file)
        self._closers: list[Callable[[], Awaitable[Any]]] = []
        self.databases: list[Database] = []

    async def database(self, package: str) -> Database:
        """Open the service database and upgrade it to the newest migration."""
        url = self.settings.database_url
        await asyncio.to_thread(upgrade, package, url)
        db = Database(url)
        self.databases.append(db)
        self._closers.append(db.dispose)
        return db

    def channel(self, target: str) -> grpc.aio.Channel:
        """An mTLS channel to another medpay service, presenting this service's certificate."""
        chan = service_channel(target, self.settings.pki_dir, self.name,
                               plaintext=self.settings.plaintext,
                               default_timeout_s=self.settings.peer_timeout_s)
        self._closers.append(chan.close)
        return chan

    async def close(self) -> None:
        for closer in reversed(self._closers):
            await closer()


def _server_credentials(settings: ServiceSettings, name: str) -> grpc.ServerCredentials:
    pki = settings.pki_dir
    return grpc.ssl_server_credentials(
        [((pki / f"{name}.key").read_bytes(), (pki / f"{name}.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes(),
        require_client_auth=True,
    )


async def _serve(name: str, settings: ServiceSettings, telemetry: Telemetry,
                 build: Callable[[Runtime], Awaitable[App]]) -> None:
    runtime = Runtime(name, settings, telemetry)
    app = await build(runtime)
    resolvers = {"op": static_resolver(CallerKind.OPERATOR, "operator",
                                       settings.operator_token_file), **app.resolvers}
    authenticator = Authenticator(resolvers, app.access.identities)
    server = grpc.aio.server(
        interceptors=[] if settings.bare else [CallInterceptor(authenticator, app.access.policy())],
        options=[("grpc.max_receive_message_length", settings.max_message_bytes),
                 ("grpc.max_send_message_length", settings.max_message_bytes),
                 ("grpc.so_reuseport", 0)],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for s in app.servicers:
        s.add_to_server(s.servicer, server)
    names = [s.full_name for s in app.servicers]
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME], server)

    address = f"{settings.host}:{settings.port}"
    try:
        if settings.plaintext:
            log.warning("plaintext_mode", detail="TLS is off by explicit setting")
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, _server_credentials(settings, name))
    except RuntimeError:
        port = 0
    if not port:
        print(f"medpay-{name}: cannot listen on {address} (is the port already in use?)",
              file=sys.stderr)
        await runtime.close()
        raise SystemExit(1)

    await server.start()
    for full in ["", *names]:
        await health_servicer.set(full, health_pb2.HealthCheckResponse.SERVING)
    log.info("service_listening", listen_on=f"{settings.host}:{port}", tls=not settings.plaintext)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(job(), name=getattr(job, "__name__", "job"))
             for job in app.background]
    checks: dict[str, Check] = {f"database{i or ''}": db.ping
                                for i, db in enumerate(runtime.databases)}
    watchdog = Watchdog(health_servicer, names, {
        **checks, **app.checks, "background_jobs": tasks_running(tasks)},
        interval_s=settings.health_interval_s, timeout_s=settings.health_timeout_s)
    watching = asyncio.create_task(watchdog.run(), name="health_watchdog")
    await stop.wait()

    log.info("service_stopping", grace_s=settings.shutdown_grace_s)
    watching.cancel()  # first, so it cannot set SERVING again after the line below
    await asyncio.gather(watching, return_exceptions=True)
    await health_servicer.enter_graceful_shutdown()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await server.stop(settings.shutdown_grace_s)
    await runtime.close()
    log.info("service_stopped")


def run(settings_cls: type[ServiceSettings], name: str,
        build: Callable[[Runtime], Awaitable[App]]) -> None:
    """The whole ``__main__`` of a service."""
    settings = load_settings(settings_cls)
    configure_logging(name, settings.log_format, settings.log_level)
    if settings.bare and name != "echo":
        print(f"medpay-{name}: bare mode is for the echo benchmark only", file=sys.stderr)
        raise SystemExit(2)
    telemetry = Telemetry(name, settings.trace_file, instrument=not settings.bare)
    try:
        asyncio.run(_serve(name, settings, telemetry, build))
    finally:
        telemetry.shutdown()
