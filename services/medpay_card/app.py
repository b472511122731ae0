"""Composition root of the card service: database, keys, identity verifier, policies, servicer."""

from __future__ import annotations

from typing import cast

from medpay.card.v1 import card_pb2_grpc
from medpay.identity.v1.identity_pb2_grpc import IdentityServiceStub
from medpay_card.access import ACCESS
from medpay_card.servicer import CardServicer
from medpay_card.settings import CardSettings
from medpay_card.usecases import cards, policies, sweep
from medpay_card.usecases.deps import Deps
from medpay_kit.assertions import AssertionVerifier
from medpay_kit.auth import CallerKind, static_resolver
from medpay_kit.keyring import Keyring
from medpay_kit.server import App, Runtime, Servicer

SERVICE = ACCESS.service
APP = CallerKind.APP


async def build(runtime: Runtime) -> App:
    settings = cast(CardSettings, runtime.settings)
    db = await runtime.database("medpay_card")
    verifier = AssertionVerifier(IdentityServiceStub(runtime.channel(settings.identity_target)),
                                 audience="card", clock=runtime.clock)
    deps = Deps(db=db, clock=runtime.clock, settings=settings,
                keyring=Keyring.load_or_create(settings.keyring_file), verifier=verifier)
    await policies.load_file(deps, settings.policy_file)
    return App(
        servicers=[Servicer(card_pb2_grpc.add_CardServiceServicer_to_server,
                            CardServicer(deps), SERVICE)],
        access=ACCESS,
        resolvers={
            "app": static_resolver(APP, "app", settings.pki_dir / "app.token"),
            "dev": cards.device_resolver(deps),
        },
        background=[sweep.sweep_loop(deps)],
    )
