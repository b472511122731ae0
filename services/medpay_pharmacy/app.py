"""Composition root of the pharmacy service."""

from __future__ import annotations

from medpay.pharmacy.v1 import pharmacy_pb2_grpc
from medpay_kit.keyring import Keyring
from medpay_kit.payment_channel import SandboxChannel
from medpay_kit.server import App, Runtime, Servicer
from medpay_pharmacy.access import ACCESS
from medpay_pharmacy.adapters.card import CardClient
from medpay_pharmacy.adapters.tables import sandbox_channel
from medpay_pharmacy.servicer import PharmacyServicer
from medpay_pharmacy.settings import PharmacySettings
from medpay_pharmacy.usecases.deps import Deps
from medpay_pharmacy.usecases.driver import Driver
from medpay_pharmacy.usecases.presettle import PreSettle
from medpay_pharmacy.usecases.queries import Queries
from medpay_pharmacy.usecases.reconcile import Reconcile
from medpay_pharmacy.usecases.recovery import Recovery
from medpay_pharmacy.usecases.refund_driver import RefundDriver
from medpay_pharmacy.usecases.registry import Registry
from medpay_pharmacy.usecases.settle import Settle
from medpay_pharmacy.usecases.undo import Undo


async def build(runtime: Runtime) -> App:
    settings = runtime.settings
    assert isinstance(settings, PharmacySettings)
    db = await runtime.database("medpay_pharmacy")
    deps = Deps(db=db, card=CardClient(runtime.channel(settings.card_target)),
                channel=SandboxChannel(db, sandbox_channel, runtime.clock),
                channel_name=settings.channel, clock=runtime.clock, settings=settings,
                keyring=Keyring.load_or_create(settings.keyring_file))
    registry = Registry(deps)
    driver, refund_driver = Driver(deps), RefundDriver(deps)
    settle = Settle(deps, driver)
    servicer = PharmacyServicer(registry, PreSettle(deps), settle,
                                Undo(deps, refund_driver, settle), Queries(deps), Reconcile(deps))
    recovery = Recovery(deps, driver, refund_driver)
    return App(
        servicers=[Servicer(pharmacy_pb2_grpc.add_PharmacyServiceServicer_to_server, servicer,
                            ACCESS.service)],
        access=ACCESS,
        resolvers={"pos": registry.resolve_terminal},
        background=[recovery.loop],
    )
