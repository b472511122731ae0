"""Every RPC of every service, called by every caller kind and every certificate, judged
against the one access table (``medpay_kit.access``), so that table, docs and servers
cannot drift apart.

One stack per backend (module scoped); each call carries an empty request, so an admitted
caller usually gets a business refusal, which is fine: only the policy's own refusals
(UNAUTHENTICATED, PERMISSION_DENIED with ``access: caller``) are judged.
"""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path

import grpc
import pytest

from medpay.billing.v1 import billing_pb2, billing_pb2_grpc
from medpay.card.v1 import card_pb2_grpc
from medpay.common.v1 import insurance_pb2, money_pb2
from medpay.echo.v1 import echo_pb2_grpc
from medpay.identity.v1 import identity_pb2_grpc
from medpay.pharmacy.v1 import pharmacy_pb2, pharmacy_pb2_grpc
from medpay_kit.access import ANY, TABLES, Who, load_tables, render_markdown
from medpay_kit.client import error_info
from medpay_kit.pki import ensure_pki
from support.insured import insured_with_card, start_issuer

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
STUBS = {"identity": identity_pb2_grpc.IdentityServiceStub, "card": card_pb2_grpc.CardServiceStub,
         "pharmacy": pharmacy_pb2_grpc.PharmacyServiceStub,
         "billing": billing_pb2_grpc.BillingServiceStub, "echo": echo_pb2_grpc.EchoServiceStub}
PB = {"identity": "medpay.identity.v1.identity_pb2", "card": "medpay.card.v1.card_pb2",
      "pharmacy": "medpay.pharmacy.v1.pharmacy_pb2", "billing": "medpay.billing.v1.billing_pb2",
      "echo": "medpay.echo.v1.echo_pb2"}
UNKNOWN_CN = "mallory"  # signed by the same CA, named after no service
CERTS = ("identity", "card", "pharmacy", "billing", "echo", UNKNOWN_CN)
TABLE = {t.name: t for t in load_tables()}


@pytest.fixture(scope="module")
def world(module_stack, tmp_path_factory):
    """All five services and one credential of every kind."""
    stack = module_stack
    ensure_pki(stack.pki, identities=(UNKNOWN_CN,))
    start_issuer(stack, tmp_path_factory.mktemp("keys"))
    stack.start("pharmacy")
    stack.start("billing")
    stack.start("echo")
    op = stack.operator_token
    pharmacy = pharmacy_pb2_grpc.PharmacyServiceStub(stack.channel("pharmacy", token=op))
    code = f"P{uuid.uuid4().hex[:11].upper()}"
    pharmacy.RegisterPharmacy(pharmacy_pb2.RegisterPharmacyRequest(
        request_id=f"reg-{code}", institution_code=code, name="大药房", region_code="610100",
        level=insurance_pb2.INSTITUTION_LEVEL_COMMUNITY, outpatient_pooling=True), timeout=30)
    pos = pharmacy.RegisterTerminal(pharmacy_pb2.RegisterTerminalRequest(
        request_id=f"term-{code}", institution_code=code, terminal_label="till"), timeout=30)
    billing = billing_pb2_grpc.BillingServiceStub(stack.channel("billing", token=op))
    hospital = f"H{uuid.uuid4().hex[:11].upper()}"
    billing.RegisterHospital(billing_pb2.RegisterHospitalRequest(
        request_id=f"hosp-{hospital}", institution_code=hospital, name="医院", region_code="610100",
        level=insurance_pb2.INSTITUTION_LEVEL_TIER2, credit_settings=billing_pb2.CreditSettings(
            credit_limit=money_pb2.Money(amount_fen=100_000, currency="CNY"), grace_days=7,
            blacklist_after_overdue_days=30)),
        timeout=30)
    his = billing.RegisterHisClient(billing_pb2.RegisterHisClientRequest(
        request_id=f"his-{hospital}", institution_code=hospital, client_label="HIS"), timeout=30)
    holder = insured_with_card(stack)
    tokens = {Who.OPERATOR: op, Who.APP_CLIENT: stack.app_token, Who.POS: pos.credential,
              Who.HIS: his.credential, Who.APP: holder.device_credential}
    return stack, tokens


def callers():
    """``(label, who or None, token kind or certificate)`` for every caller tried."""
    yield "no credential", None, None
    for w in (Who.POS, Who.HIS, Who.APP, Who.APP_CLIENT, Who.OPERATOR):
        yield w.value, w, "token"
    for cn in CERTS:
        yield f"certificate {cn}", (Who(cn) if cn != UNKNOWN_CN else None), cn


_channels: dict[tuple, grpc.Channel] = {}


def call(stack, tokens, service: str, rpc: str, who, how) -> grpc.RpcError | None:
    token = tokens[who] if how == "token" else None
    identity = how if how not in (None, "token") else "client"
    key = (stack.services[service].target, token, identity)
    if key not in _channels:
        _channels[key] = stack.channel(service, token=token, identity=identity)
    method = getattr(STUBS[service](_channels[key]), rpc)
    module = importlib.import_module(PB[service])
    descriptor = module.DESCRIPTOR.services_by_name[
        TABLE[service].service.rsplit(".", 1)[-1]].methods_by_name[rpc]
    request = getattr(module, descriptor.input_type.name)()
    try:
        reply = method(request, timeout=2 if descriptor.server_streaming else 10)
        if descriptor.server_streaming:
            for _ in reply:
                break
    except grpc.RpcError as exc:
        return exc
    return None


def refused_by_policy(exc: grpc.RpcError | None) -> str | None:
    """``UNAUTHENTICATED`` / ``PERMISSION_DENIED`` when the policy refused the call."""
    policy_codes = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
    if exc is None or exc.code() not in policy_codes:
        return None  # a business answer, or a watch stream that stayed open until the deadline
    info = error_info(exc)
    assert info is not None, f"{exc.code()} without ErrorInfo: {exc.details()}"
    if exc.code() == grpc.StatusCode.UNAUTHENTICATED and info.reason == "UNAUTHENTICATED":
        return "UNAUTHENTICATED"  # (DEVICE_CREDENTIAL_INVALID is VerifyDeviceCredential's answer)
    if exc.code() == grpc.StatusCode.PERMISSION_DENIED and info.metadata.get("access") == "caller":
        assert info.reason == "PERMISSION_DENIED"
        return "PERMISSION_DENIED"
    return None


def served_by(service: str):
    module = importlib.import_module(PB[service])
    return list(module.DESCRIPTOR.services_by_name[TABLE[service].service.rsplit(".", 1)[-1]]
                .methods_by_name)


@pytest.mark.parametrize("service", list(STUBS))
def test_every_rpc_admits_exactly_the_callers_of_its_row(world, service):
    stack, tokens = world
    access = TABLE[service]
    wrong = []
    for rpc in served_by(service):
        allowed = access.callers(rpc)
        for label, who, how in callers():
            got = refused_by_policy(call(stack, tokens, service, rpc, who, how))
            if who is not None and who in allowed:
                if got is not None:
                    wrong.append(f"{rpc} by {label}: refused ({got}) though the table admits it")
            elif got is None:
                wrong.append(f"{rpc} by {label}: not refused by the policy")
            elif how in ("echo", UNKNOWN_CN) and service != "echo" and got != "UNAUTHENTICATED":
                wrong.append(f"{rpc} by {label}: {got}; an unknown certificate is no credential")
            elif how in access.identities and got != "PERMISSION_DENIED":
                wrong.append(f"{rpc} by {label}: {got}; a known service is refused by the table")
    assert wrong == []


def test_the_tables_name_every_rpc_and_only_those():
    for name, access in TABLE.items():
        assert list(access.rpcs) == served_by(name), name


def test_each_subject_rule_is_a_function_in_its_module():
    for access in TABLE.values():
        module = importlib.import_module(access.subjects_in)
        used = {g.subject for grants in access.rpcs.values() for g in grants} - {ANY}
        assert used == set(access.subjects), access.name
        for subject in used:
            assert callable(getattr(module, subject, None)), f"{access.subjects_in}.{subject}"


def test_echo_is_an_identity_of_the_echo_service_only():
    for name, access in TABLE.items():
        admits_echo = any(Who.ECHO in access.callers(rpc) for rpc in access.rpcs)
        assert admits_echo == (name == "echo") and ("echo" in access.identities) == (name == "echo")


def test_the_committed_doc_is_the_rendering_of_the_tables():
    assert len(TABLES) == len(TABLE)
    assert (ROOT / "docs" / "access.md").read_text() == render_markdown(load_tables()), \
        "run: cd services && python -m medpay_kit.access --markdown > ../docs/access.md"
