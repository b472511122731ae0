"""The real settlement path under load: card + pharmacy (+ identity to issue the cards).

Seeds a pharmacy, people with cards and one payment context per settlement to come (a QR
code exchanged by PreSettle, as a till does before it settles), then drives ``Settle``
with the same load generator as the echo, and audits the databases afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field

import psutil
from loadgen import Result, closed_loop, open_loop
from sqlalchemy import text

from medpay.card.v1 import card_pb2, card_pb2_grpc
from medpay.common.v1 import insurance_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay.pharmacy.v1 import pharmacy_pb2_grpc
from medpay_kit.client import service_channel
from medpay_kit.db import admin_engine
from support.harness import Stack
from support.insured import Insured, insured_with_card

CONCURRENCY = 16
BASKET = [pb.SaleLine(line_no=1, item_code="XJ01CAA040A001010100001", quantity="1"),  # A 12.50
          pb.SaleLine(line_no=2, item_code="XA11GAA010A001010100023", quantity="1")]  # C 4.50: cash
SERVICE_ENV = {"card": {"payment_context_ttl_s": "3600", "qr_ttl_s": "600",
                        "hold_ttl_s": "3600"},
               "pharmacy": {}}


@dataclass
class Rig:
    stack: Stack
    terminal_token: str = ""
    people: list[Insured] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    succeeded: int = 0


def start(stack: Stack) -> Rig:
    for name in ("identity", "card", "pharmacy"):
        stack.start(name, **SERVICE_ENV.get(name, {}), log_level="warning")
    return Rig(stack)


def seed(rig: Rig, people: int) -> None:
    stack = rig.stack
    operator = pharmacy_pb2_grpc.PharmacyServiceStub(stack.channel("pharmacy", stack.operator_token))
    code = "P61010399999"
    operator.RegisterPharmacy(pb.RegisterPharmacyRequest(
        request_id="bench-pharmacy", institution_code=code, name="bench pharmacy",
        level=insurance_pb2.INSTITUTION_LEVEL_COMMUNITY, outpatient_pooling=True,
        region_code="610100"))
    operator.ImportCatalogue(pb.ImportCatalogueRequest(
        request_id="bench-catalogue", institution_code=code, items=[
            pb.CatalogueItem(item_code=BASKET[0].item_code, name="amoxicillin", unit_price="12.50",
                             price_cap="13.00", item_class=insurance_pb2.ITEM_CLASS_A),
            pb.CatalogueItem(item_code=BASKET[1].item_code, name="vitamin C", unit_price="4.50",
                             item_class=insurance_pb2.ITEM_CLASS_C)]))
    rig.terminal_token = operator.RegisterTerminal(pb.RegisterTerminalRequest(
        request_id="bench-terminal", institution_code=code, terminal_label="bench")).credential
    rig.people = [insured_with_card(stack, balance_fen=50_000_000) for _ in range(people)]


async def _make_contexts(rig: Rig, count: int) -> None:
    stack = rig.stack
    till = pharmacy_pb2_grpc.PharmacyServiceStub(service_channel(
        stack.services["pharmacy"].target, stack.pki, "client", token=rig.terminal_token))
    apps = [card_pb2_grpc.CardServiceStub(service_channel(
        stack.services["card"].target, stack.pki, "client", token=p.device_credential))
        for p in rig.people]
    turn = itertools.cycle(range(len(apps)))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with gate:
            qr = await apps[next(turn)].GenerateQrCode(
                card_pb2.GenerateQrCodeRequest(request_id=f"bq-{uuid.uuid4()}"))
            reply = await till.PreSettle(pb.PreSettleRequest(
                request_id=f"bp-{uuid.uuid4()}", qr_payload=qr.qr_payload, lines=BASKET,
                use_personal_account=True))
            rig.contexts.append(reply.payment_context_id)

    await asyncio.gather(*(one() for _ in range(count)))


def make_contexts(rig: Rig, count: int) -> None:
    asyncio.run(_make_contexts(rig, count))


async def _measure(rig: Rig, duration: float, rate: float | None) -> Result:
    stack = rig.stack
    channel = service_channel(stack.services["pharmacy"].target, stack.pki, "client",
                              token=rig.terminal_token)
    till = pharmacy_pb2_grpc.PharmacyServiceStub(channel)

    async def settle(_: int) -> object:
        context = rig.contexts.pop()
        request_id = f"bench-{uuid.uuid4()}"
        rig.sent.append(request_id)
        reply = await till.Settle(pb.SettleRequest(
            request_id=request_id, payment_context_id=context, lines=BASKET,
            use_personal_account=True, payer_reference="bench-wallet"))
        rig.succeeded += 1
        return reply

    if rate is None:
        result = await closed_loop(settle, concurrency=CONCURRENCY, duration=duration)
    else:
        result = await open_loop(settle, rate=rate, duration=duration)
    await channel.close()
    return result


def measure(rig: Rig, duration: float, rate: float | None = None) -> Result:
    return asyncio.run(_measure(rig, duration, rate))


def rss_mb(stack: Stack) -> dict[str, float]:
    return {name: round(psutil.Process(p.proc.pid).memory_info().rss / 2**20, 1)
            for name, p in stack.services.items() if p.proc is not None}


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time (user + system, all threads) each service process has used so far."""
    return {name: sum(psutil.Process(p.proc.pid).cpu_times()[:2])
            for name, p in stack.services.items() if p.proc is not None}


def cpu_ms_per_call(before: dict[str, float], after: dict[str, float],
                    calls: int) -> dict[str, float]:
    """CPU milliseconds per call of each service over a measurement: steadier than calls/s
    on a shared machine, since it does not depend on who else had the cores."""
    return {name: round((after[name] - before[name]) * 1000 / max(calls, 1), 2)
            for name in before}


def _scalar(url: str, sql: str) -> object:
    async def run() -> object:
        engine = admin_engine(url)
        async with engine.connect() as conn:
            value = (await conn.execute(text(sql))).scalar_one()
        await engine.dispose()
        return value

    return asyncio.run(run())


def audit(rig: Rig) -> dict[str, object]:
    """After the load: the ledger balances, nothing is negative, one settlement per request id."""
    card = rig.stack.services["card"].env["MEDPAY_CARD_DATABASE_URL"]
    pharmacy = rig.stack.services["pharmacy"].env["MEDPAY_PHARMACY_DATABASE_URL"]
    unbalanced = _scalar(card, "SELECT COUNT(*) FROM (SELECT txn_id FROM ledger_entries "
                               "GROUP BY txn_id HAVING SUM(amount) <> 0) t")
    ledger_sum = _scalar(card, "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries")
    negative = _scalar(card, "SELECT COUNT(*) FROM accounts WHERE personal_balance < 0 "
                             "OR hold_balance < 0")
    duplicates = _scalar(pharmacy, "SELECT COUNT(*) FROM (SELECT request_id FROM settlements "
                                   "GROUP BY institution_code, request_id HAVING COUNT(*) > 1) t")
    bench_rows = _scalar(pharmacy, "SELECT COUNT(*) FROM settlements WHERE request_id LIKE 'bench-%' "
                                   "AND status = 'COMPLETED'")
    ok = (unbalanced == 0 and ledger_sum == 0 and negative == 0 and duplicates == 0
          and bench_rows == rig.succeeded)
    return {"ledger_unbalanced_transactions": unbalanced, "ledger_sum": ledger_sum,
            "negative_balances": negative, "duplicate_request_ids": duplicates,
            "completed_settlements": bench_rows, "successful_settle_calls": rig.succeeded, "ok": ok}


def prefill_settlements(rig: Rig, rows: int) -> int:
    """Grow the pharmacy's settlements table to ``rows`` with old, completed rows (bulk SQL)."""
    url = rig.stack.services["pharmacy"].env["MEDPAY_PHARMACY_DATABASE_URL"]

    async def run() -> int:
        engine = admin_engine(url)
        async with engine.begin() as conn:
            row = dict((await conn.execute(text(
                "SELECT * FROM settlements WHERE request_id LIKE 'bench-%' LIMIT 1"))).mappings().one())
            insert = text(f"INSERT INTO settlements ({', '.join(row)}) "
                          f"VALUES ({', '.join(':' + c for c in row)})")
            have = (await conn.execute(text("SELECT COUNT(*) FROM settlements"))).scalar_one()
            missing = max(0, rows - have)
            for start in range(0, missing, 20_000):
                await conn.execute(insert, [
                    dict(row, settlement_id=f"PF{i:012d}", request_id=f"prefill-{i}",
                         business_date="2025-01-01")
                    for i in range(start, min(missing, start + 20_000))])
            total = (await conn.execute(text("SELECT COUNT(*) FROM settlements"))).scalar_one()
        await engine.dispose()
        return total

    return asyncio.run(run())
