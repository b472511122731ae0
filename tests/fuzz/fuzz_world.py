"""A whole stack of real processes with a caller of every kind, for the fuzz and log suites.

``start_world`` starts identity, card, pharmacy, billing and echo, then registers through
their RPCs what gives every caller kind a real credential: a pharmacy with a terminal
(``pos``), a hospital with a HIS client (``his``), an insured person with a card on a
device (``dev``), plus the app client key (``app``) and the operator's (``op``); the
services' own certificates are the ``svc:<name>`` callers. ``World.rpcs`` lists every RPC
of every service, read from the generated service descriptors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from google.protobuf.descriptor import MethodDescriptor

from medpay.billing.v1 import billing_pb2, billing_pb2_grpc
from medpay.card.v1 import card_pb2
from medpay.common.v1 import insurance_pb2, money_pb2
from medpay.echo.v1 import echo_pb2
from medpay.identity.v1 import identity_pb2
from medpay.pharmacy.v1 import pharmacy_pb2, pharmacy_pb2_grpc
from medpay_kit.client import error_info
from support.catalogue import sample_items
from support.insured import Insured, insured_with_card, qr_code, start_issuer

SERVICES = {"identity": identity_pb2, "card": card_pb2, "pharmacy": pharmacy_pb2,
            "billing": billing_pb2, "echo": echo_pb2}
SERVICE_CERTS = ("identity", "card", "pharmacy", "billing")
AMOXICILLIN = "XJ01CAA040A001010100001"


@dataclass(frozen=True)
class Rpc:
    service: str  # identity, card, ...
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def streams(self) -> bool:
        return self.method.server_streaming

    def __str__(self) -> str:
        return f"{self.service}.{self.method.name}"


def every_rpc() -> list[Rpc]:
    return [Rpc(name, method) for name, module in SERVICES.items()
            for service in module.DESCRIPTOR.services_by_name.values() for method in service.methods]


@dataclass
class World:
    stack: object
    credentials: dict[str, str] = field(default_factory=dict)  # caller kind -> credential
    pool: list[str] = field(default_factory=list)  # ids the world really has
    person: Insured | None = None  # the insured person whose device is the "dev" caller
    _channels: dict[tuple[str, str], grpc.Channel] = field(default_factory=dict)

    @property
    def callers(self) -> list[str]:
        return [*self.credentials, *(f"svc:{name}" for name in SERVICE_CERTS)]

    def channel(self, service: str, caller: str) -> grpc.Channel:
        key = (service, caller)
        if key not in self._channels:
            if caller.startswith("svc:"):
                chan = self.stack.channel(service, identity=caller.removeprefix("svc:"))
            else:
                chan = self.stack.channel(service, token=self.credentials[caller])
            self._channels[key] = chan
        return self._channels[key]

    def raw(self, rpc: Rpc, caller: str):
        """The RPC as a callable taking and returning bytes (no serializers)."""
        chan = self.channel(rpc.service, caller)
        make = chan.unary_stream if rpc.streams else chan.unary_unary
        return make(rpc.path, request_serializer=None, response_deserializer=None)

    def allowed(self, rpc: Rpc) -> list[str]:
        """The callers an RPC accepts: those it tells that its (undecodable) request is bad."""
        return [c for c in self.callers if _reason(self.raw(rpc, c), b"\xff\xff", rpc.streams)
                == "MALFORMED_REQUEST"]

    def settle(self) -> pharmacy_pb2.Receipt:
        """A normal sale (QR code → pre-settle → settle) by a new person at a new pharmacy,
        so nothing a fuzzed call did to the world's own (a suspended card, a replaced
        catalogue) stands in its way."""
        _, credential = register_pharmacy(self.stack)
        till = pharmacy_pb2_grpc.PharmacyServiceStub(self.stack.channel("pharmacy", token=credential))
        person = insured_with_card(self.stack)
        basket = [pharmacy_pb2.SaleLine(line_no=1, item_code=AMOXICILLIN, quantity="1")]
        pre = till.PreSettle(pharmacy_pb2.PreSettleRequest(
            request_id=f"ps-{uuid.uuid4()}", qr_payload=qr_code(self.stack, person),
            lines=basket, use_personal_account=True), timeout=60)
        return till.Settle(pharmacy_pb2.SettleRequest(
            request_id=f"st-{uuid.uuid4()}", payment_context_id=pre.payment_context_id,
            lines=basket, use_personal_account=True, payer_reference="payer-ok"), timeout=60).receipt

    def close(self) -> None:
        for chan in self._channels.values():
            chan.close()


def _reason(call, body: bytes, streams: bool) -> str:
    try:
        reply = call(body, timeout=30)
        if streams:
            next(iter(reply), None)
            reply.cancel()
    except grpc.RpcError as exc:
        info = error_info(exc)
        return info.reason if info else exc.code().name
    return "OK"


def register_pharmacy(stack) -> tuple[str, str]:
    """A new pharmacy with the sample catalogue and one till: (code, the till's credential)."""
    ops = pharmacy_pb2_grpc.PharmacyServiceStub(stack.channel("pharmacy", token=stack.operator_token))
    code = f"P{uuid.uuid4().hex[:11].upper()}"
    ops.RegisterPharmacy(pharmacy_pb2.RegisterPharmacyRequest(
        request_id=f"reg-{code}", institution_code=code, name="大药房",
        level=insurance_pb2.INSTITUTION_LEVEL_COMMUNITY, outpatient_pooling=True,
        region_code="610100"), timeout=30)
    ops.ImportCatalogue(pharmacy_pb2.ImportCatalogueRequest(
        request_id=f"cat-{code}", institution_code=code, items=sample_items()), timeout=30)
    terminal = ops.RegisterTerminal(pharmacy_pb2.RegisterTerminalRequest(
        request_id=f"term-{code}", institution_code=code, terminal_label="till 1"), timeout=30)
    return code, terminal.credential


def start_world(stack, keys: Path) -> World:
    start_issuer(stack, keys)
    stack.start("pharmacy", keyring_file=str(keys / "pharmacy.json"))
    stack.start("billing", keyring_file=str(keys / "billing.json"))
    stack.start("echo")
    world = World(stack, credentials={"op": stack.operator_token, "app": stack.app_token})
    code, world.credentials["pos"] = register_pharmacy(stack)
    billing = billing_pb2_grpc.BillingServiceStub(world.channel("billing", "op"))
    hospital = f"H6101{uuid.uuid4().hex[:7].upper()}"
    billing.RegisterHospital(billing_pb2.RegisterHospitalRequest(
        request_id=f"hosp-{hospital}", institution_code=hospital, name="第二医院",
        level=insurance_pb2.INSTITUTION_LEVEL_TIER2, region_code="610100",
        credit_settings=billing_pb2.CreditSettings(
            credit_limit=money_pb2.Money(amount_fen=100_000, currency="CNY"), grace_days=10,
            blacklist_after_overdue_days=30)), timeout=30)
    his = billing.RegisterHisClient(billing_pb2.RegisterHisClientRequest(
        request_id=f"his-{hospital}", institution_code=hospital, client_label="HIS"), timeout=30)
    world.credentials["his"] = his.credential
    person = world.person = insured_with_card(stack, balance_fen=10_000_000)
    world.credentials["dev"] = person.device_credential
    terminal_id = world.credentials["pos"].split(".")[0].removeprefix("pos_")
    world.pool = [code, hospital, terminal_id, person.card_id, person.person_number,
                  person.insured_id, person.identity_person_id, person.device_id, AMOXICILLIN,
                  "610100", "CNY", "2026-12-01", "2026-11", "2027-01", world.settle().settlement_id,
                  qr_code(stack, person)]
    return world


def send(world: World, rpc: Rpc, caller: str, body: bytes, metadata=()) -> grpc.RpcError | None:
    """Call ``rpc`` with raw ``body`` bytes as ``caller``; the error it answered, if any
    (a stream: its first message is read, then the stream is cancelled)."""
    try:
        reply = world.raw(rpc, caller)(body, timeout=2 if rpc.streams else 60, metadata=metadata)
        if rpc.streams:
            try:
                next(iter(reply), None)
            finally:
                reply.cancel()
    except grpc.RpcError as exc:
        return exc
    return None
