"""One settle is one trace: pharmacy and card spans (server, client, database) exported by
the real processes share the trace the till started."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from pharmacy_till import BASKET

from medpay.pharmacy.v1 import pharmacy_pb2 as pb

pytestmark = pytest.mark.db

SETTLE = "/medpay.pharmacy.v1.PharmacyService/Settle"
AUTHORIZE = "/medpay.card.v1.CardService/Authorize"
CAPTURE = "/medpay.card.v1.CardService/Capture"


def spans_of(path, trace_id: str) -> list[dict]:
    if not path.exists():
        return []
    spans = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return [s for s in spans if s["context"]["trace_id"] == f"0x{trace_id}"]


def wait_for_spans(world, trace_id: str, timeout: float = 15.0) -> tuple[list[dict], list[dict]]:
    deadline = time.monotonic() + timeout
    while True:
        pharmacy = spans_of(world.stack.services["pharmacy"].trace_path, trace_id)
        card = spans_of(world.stack.services["card"].trace_path, trace_id)
        served = {s["name"] for s in pharmacy + card if s["kind"] == "SpanKind.SERVER"}
        if {SETTLE, AUTHORIZE, CAPTURE} <= served or time.monotonic() > deadline:
            return pharmacy, card
        time.sleep(0.25)


def test_a_settlement_is_one_trace_through_pharmacy_and_card(world):
    till = world.pharmacy()
    person = world.insured()
    qr = world.qr(person)
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    till.stub.Settle(pb.SettleRequest(
        request_id=f"traced-{trace_id}", qr_payload=qr, lines=BASKET, use_personal_account=True,
        payer_reference="payer-ok"), metadata=[("traceparent", f"00-{trace_id}-{parent}-01")],
        timeout=60)

    pharmacy, card = wait_for_spans(world, trace_id)
    kinds = {(s["name"], s["kind"]) for s in pharmacy + card}
    assert (SETTLE, "SpanKind.SERVER") in {(s["name"], s["kind"]) for s in pharmacy}
    for rpc in (AUTHORIZE, CAPTURE):
        assert (rpc, "SpanKind.CLIENT") in {(s["name"], s["kind"]) for s in pharmacy}, kinds
        assert (rpc, "SpanKind.SERVER") in {(s["name"], s["kind"]) for s in card}, kinds
    for service_spans in (pharmacy, card):
        assert any("db.system" in s["attributes"] for s in service_spans), "no database spans"
    settle = next(s for s in pharmacy if s["name"] == SETTLE)
    assert settle["parent_id"] == f"0x{parent}"
    logged = [json.loads(line) for line in world.stack.services["pharmacy"].logs().splitlines()
              if trace_id in line]
    assert any(e.get("request_id") == f"traced-{trace_id}" for e in logged), "no log line with ids"
    print(f"\ntrace {trace_id}: {len(pharmacy)} pharmacy spans, {len(card)} card spans")

