"""The operator tools: catalogue import over gRPC, and the day's detail file a till uploads."""

from __future__ import annotations

import csv
import subprocess
import sys
from decimal import Decimal

import pytest
from pharmacy_till import line

from medpay.common.v1 import insurance_pb2, money_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from support.catalogue import SAMPLE
from support.harness import ROOT

pytestmark = pytest.mark.db


def tool(stack, *args: str) -> subprocess.CompletedProcess:
    env = dict(stack.services["pharmacy"].env)
    return subprocess.run([sys.executable, "-m", "medpay_pharmacy.tools", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def grpc_args(stack) -> list[str]:
    return ["--target", stack.services["pharmacy"].target, "--pki", str(stack.pki),
            "--token-file", str(stack.pki / "operator.token")]


def test_import_catalogue_from_csv_is_idempotent(world):
    till = world.pharmacy(items=[pb.CatalogueItem(item_code="SEED1", name="seed",
                                                  unit_price="1", item_class=1)])
    first = tool(world.stack, "import-catalogue", str(SAMPLE), "--institution", till.code,
                 "--batch", "7", *grpc_args(world.stack))
    assert first.returncode == 0, first.stderr
    assert "created 25, updated 0, unchanged 0" in first.stderr
    again = tool(world.stack, "import-catalogue", str(SAMPLE), "--institution", till.code,
                 *grpc_args(world.stack))
    assert again.returncode == 0 and "unchanged 25" in again.stderr
    items = till.stub.ListCatalogue(pb.ListCatalogueRequest(page_size=1000), timeout=30).items
    assert len(items) == 26 and [i.item_code for i in items] == sorted(i.item_code for i in items)


def test_a_bad_csv_names_its_line(world, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(SAMPLE.read_text(encoding="utf-8").replace(",A,0", ",Q,0", 1), encoding="utf-8")
    result = tool(world.stack, "import-catalogue", str(bad), "--institution", "P00000000000",
                  *grpc_args(world.stack))
    assert result.returncode == 2 and "line 2" in result.stderr


def test_the_detail_file_reconciles_to_zero_difference(world, tmp_path):
    till = world.pharmacy()
    person = world.insured()
    kept = till.settle(world.qr(person)).receipt
    gone = till.settle(world.qr(person), lines=[line(1, "XJ01CAA040A001010100001", "3")]).receipt
    till.stub.CancelSettlement(pb.CancelSettlementRequest(
        request_id="tools-cx-1", settlement_id=gone.settlement_id), timeout=60)
    out = tmp_path / "detail.csv"
    result = tool(world.stack, "detail-file", "--institution", till.code, "--date",
                  kept.business_date, "--out", str(out))
    assert result.returncode == 0, result.stderr
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and sum(r["refund"] == "1" for r in rows) == 1

    def fen(text: str) -> money_pb2.Money:
        return money_pb2.Money(amount_fen=int(Decimal(text) * 100), currency="CNY")

    detail = [pb.DetailRow(settlement_id=r["settlement_id"], request_id=r["request_id"],
                           refund_id=r["refund_id"], refund=r["refund"] == "1",
                           total=fen(r["total"]), fund_pay=fen(r["fund_pay"]),
                           account_pay=fen(r["account_pay"]), cash_pay=fen(r["cash_pay"]))
              for r in rows]
    totals = pb.ReconcileTotals(
        count=len(detail), total=fen(str(sum(Decimal(r["total"]) for r in rows))),
        fund_pay=fen(str(sum(Decimal(r["fund_pay"]) for r in rows))),
        account_pay=fen(str(sum(Decimal(r["account_pay"]) for r in rows))))
    reply = till.stub.Reconcile(pb.ReconcileRequest(
        business_date=kept.business_date,
        insurance_type=insurance_pb2.INSURANCE_TYPE_EMPLOYEE_BASIC, totals=totals, rows=detail),
        timeout=60)
    assert reply.matched and reply.issuer_matched and not reply.differences
    # totals alone that disagree are reported as not matched
    off = pb.ReconcileTotals(count=totals.count + 1, total=totals.total,
                             fund_pay=totals.fund_pay, account_pay=totals.account_pay)
    assert not till.stub.Reconcile(pb.ReconcileRequest(
        business_date=kept.business_date,
        insurance_type=insurance_pb2.INSURANCE_TYPE_EMPLOYEE_BASIC, totals=off),
        timeout=60).matched


def test_the_receipt_tool_prints_the_slip(world):
    till = world.pharmacy()
    receipt = till.settle(world.qr(world.insured())).receipt
    result = tool(world.stack, "receipt", receipt.settlement_id, "--institution", till.code,
                  *grpc_args(world.stack))
    assert result.returncode == 0, result.stderr
    assert receipt.settlement_id in result.stdout and "Pooled fund" in result.stdout
