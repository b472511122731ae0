"""Helpers of the pharmacy tests: the world of real processes, a till, refusals, baskets.

Each test registers its own pharmacy (``world.pharmacy()``) and its own insured people
(``world.insured()``), so tests sharing the processes of a module never share data.
"""

from __future__ import annotations

import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from medpay.common.v1 import insurance_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay.pharmacy.v1 import pharmacy_pb2_grpc
from medpay_kit.client import error_info
from support.catalogue import sample_items
from support.insured import Insured, account, insured_with_card, qr_code

AMOXICILLIN = "XJ01CAA040A001010100001"  # A, 12.50, cap 13.00
CEFACLOR = "XJ01DCC090A001010100002"  # B 10 %, 28.80, cap 26.00 (over the cap)
VITAMIN_C = "XA11GAA010A001010100023"  # C, 4.50


def line(no: int, code: str, qty: str = "1", price: str = "") -> pb.SaleLine:
    return pb.SaleLine(line_no=no, item_code=code, quantity=qty, unit_price=price)


BASKET = [line(1, AMOXICILLIN, "2"), line(2, CEFACLOR, "1"), line(3, VITAMIN_C, "1")]


@dataclass
class Refusal:
    code: grpc.StatusCode
    reason: str
    metadata: dict
    message: str


def refusal(call, *args, **kwargs) -> Refusal:
    with pytest.raises(grpc.RpcError) as err:
        call(*args, **kwargs)
    info = error_info(err.value)
    return Refusal(err.value.code(), info.reason if info else "", dict(info.metadata) if info else {},
                   err.value.details() or "")


@dataclass
class Till:
    code: str
    terminal_id: str
    credential: str
    stub: pharmacy_pb2_grpc.PharmacyServiceStub

    def settle(self, qr: str = "", *, context: str = "", lines=None, payer: str = "payer-ok",
               request_id: str | None = None, account: bool = True, timeout: float = 60):
        request = pb.SettleRequest(request_id=request_id or f"st-{uuid.uuid4()}",
                                   lines=BASKET if lines is None else lines,
                                   use_personal_account=account, payer_reference=payer)
        if context:
            request.payment_context_id = context
        else:
            request.qr_payload = qr
        return self.stub.Settle(request, timeout=timeout)

    def presettle(self, qr: str = "", *, context: str = "", lines=None, account: bool = True):
        request = pb.PreSettleRequest(request_id=f"ps-{uuid.uuid4()}",
                                      lines=BASKET if lines is None else lines,
                                      use_personal_account=account)
        if context:
            request.payment_context_id = context
        else:
            request.qr_payload = qr
        return self.stub.PreSettle(request, timeout=60)

    def get(self, settlement_id: str = "", *, settle_request_id: str = "") -> pb.Receipt:
        request = (pb.GetSettlementRequest(settle_request_id=settle_request_id) if settle_request_id
                   else pb.GetSettlementRequest(settlement_id=settlement_id))
        return self.stub.GetSettlement(request, timeout=30).receipt


class World:
    def __init__(self, stack) -> None:
        self.stack = stack
        self.operator = self.stub(stack.operator_token)

    def stub(self, token: str | None = None, identity: str = "client"):
        return pharmacy_pb2_grpc.PharmacyServiceStub(
            self.stack.channel("pharmacy", token=token, identity=identity))

    def pharmacy(self, *, pooling: bool = True, items=None) -> Till:
        code = f"P{secrets.token_hex(6).upper()[:11]}"
        self.operator.RegisterPharmacy(pb.RegisterPharmacyRequest(
            request_id=f"reg-{code}", institution_code=code, name=f"大药房 {code[-4:]}",
            level=insurance_pb2.INSTITUTION_LEVEL_COMMUNITY, outpatient_pooling=pooling,
            region_code="610100"), timeout=30)
        self.operator.ImportCatalogue(pb.ImportCatalogueRequest(
            request_id=f"cat-{code}", institution_code=code,
            items=sample_items() if items is None else items), timeout=30)
        return self.till(code)

    def till(self, code: str, label: str = "till 1") -> Till:
        reply = self.operator.RegisterTerminal(pb.RegisterTerminalRequest(
            request_id=f"term-{uuid.uuid4()}", institution_code=code, terminal_label=label),
            timeout=30)
        return Till(code, reply.terminal_id, reply.credential, self.stub(reply.credential))

    def insured(self, **kw) -> Insured:
        return insured_with_card(self.stack, **kw)

    def qr(self, insured: Insured) -> str:
        return qr_code(self.stack, insured)

    def balance(self, insured: Insured) -> int:
        return account(self.stack, insured).balance.amount_fen

    def held(self, insured: Insured) -> int:
        return account(self.stack, insured).held.amount_fen

    def channel_transactions(self, settlement_id: str) -> list[pb.ChannelTransaction]:
        return list(self.operator.ListChannelTransactions(pb.ListChannelTransactionsRequest(
            settlement_id=settlement_id), timeout=30).transactions)


def start_world(stack, keys: Path, **pharmacy_env: str) -> World:
    """identity, card and pharmacy, started side by side (each gets its peer's address first)."""
    keys.mkdir(parents=True, exist_ok=True)
    plan = [("identity", {}), ("card", {}), ("pharmacy", pharmacy_env)]
    with ThreadPoolExecutor(len(plan)) as pool:
        started = []
        for name, env in plan:
            started.append(pool.submit(stack.start, name, keyring_file=str(keys / f"{name}.json"),
                                       **env))
            while name not in stack.services and not started[-1].done():
                time.sleep(0.005)  # registered (address known) before it is healthy
        for future in started:
            future.result()
    return World(stack)
