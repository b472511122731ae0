"""Composition root of the billing service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from medpay.billing.v1 import billing_pb2_grpc
from medpay.identity.v1 import identity_pb2_grpc
from medpay_billing.access import ACCESS
from medpay_billing.adapters.callers import DeviceResolver, his_resolver
from medpay_billing.adapters.card import CardClient
from medpay_billing.adapters.events import EventBell
from medpay_billing.adapters.tables import channel_transactions
from medpay_billing.servicer import BillingServicer
from medpay_billing.settings import BillingSettings
from medpay_billing.usecases.closing import recover_closing
from medpay_billing.usecases.collection import collect
from medpay_billing.usecases.deps import Deps
from medpay_billing.usecases.refunds import recover_refunds
from medpay_kit.assertions import AssertionVerifier
from medpay_kit.keyring import Keyring
from medpay_kit.payment_channel import SandboxChannel
from medpay_kit.server import App, Runtime, Servicer

log = structlog.get_logger()
SERVICE = ACCESS.service

def every(interval_s: float, name: str, job: Callable[[], Awaitable[object]]):  # type: ignore[no-untyped-def]
    async def loop() -> None:  # at start, then every interval
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("background_pass_failed", job=name, exc_info=exc)
            await asyncio.sleep(interval_s)
    loop.__name__ = name
    return loop


async def build(runtime: Runtime) -> App:
    settings = runtime.settings
    assert isinstance(settings, BillingSettings)
    db = await runtime.database("medpay_billing")
    card = CardClient(runtime.channel(settings.card_target))
    identity = identity_pb2_grpc.IdentityServiceStub(runtime.channel(settings.identity_target))
    deps = Deps(
        db=db, card=card,
        assertions=AssertionVerifier(identity, audience="billing", clock=runtime.clock),
        channel=SandboxChannel(db, channel_transactions, runtime.clock),
        clock=runtime.clock, settings=settings, bell=EventBell(),
        keyring=Keyring.load_or_create(settings.keyring_file))

    async def recover() -> None:
        await recover_closing(deps)
        await recover_refunds(deps)

    return App(
        servicers=[Servicer(billing_pb2_grpc.add_BillingServiceServicer_to_server,
                            BillingServicer(deps), SERVICE)],
        access=ACCESS,
        resolvers={"his": his_resolver(db), "dev": DeviceResolver(card, settings.device_cache_ttl_s)},
        background=[every(settings.recovery_interval_s, "billing_recovery", recover),
                    every(settings.collection_interval_s, "billing_collection",
                          lambda: collect(deps))],
        checks={"event_bell": deps.bell.check},
    )
