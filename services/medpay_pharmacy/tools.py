"""Operator tools of the pharmacy service: ``python -m medpay_pharmacy.tools <command>``.

``import-catalogue FILE --institution CODE``
    Creates or updates a pharmacy's catalogue from a CSV file (columns: item_code, name,
    spec, unit_price, price_cap, item_class, pre_self_pay_ratio_bp; see
    ``data/sample_catalogue.csv``) through the running service's ImportCatalogue, in
    batches, with a progress bar. Talks gRPC with the operator token and the client
    certificate. Re-running the same file is idempotent (request ids derive from its hash).

``detail-file --institution CODE --date YYYY-MM-DD [--insurance-type 310] [--out FILE]``
    Writes the day's detail rows (3202) as the CSV a till would upload: one forward row per
    settlement booked that day, one reverse row per refund, amounts in yuan. Reads the
    service's own database (same ``MEDPAY_PHARMACY_DATABASE_URL`` as the service).

``receipt --institution CODE SETTLEMENT_ID``
    Prints a settlement as the till's slip (operator, over gRPC).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import sys
from pathlib import Path

import grpc
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medpay.common.v1 import insurance_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay.pharmacy.v1 import pharmacy_pb2_grpc
from medpay_kit.card_client import CLASSES
from medpay_kit.client import blocking_channel, error_reason
from medpay_kit.db import Database
from medpay_kit.money import fen_to_yuan_text
from medpay_pharmacy import mapping
from medpay_pharmacy.domain.receipt import render
from medpay_pharmacy.settings import PharmacySettings

COLUMNS = ("item_code", "name", "spec", "unit_price", "price_cap", "item_class",
           "pre_self_pay_ratio_bp")
DETAIL_COLUMNS = ("settlement_id", "request_id", "refund_id", "refund", "total", "fund_pay",
                  "account_pay", "cash_pay")

console = Console(stderr=True)


class CsvError(ValueError):
    pass


def read_catalogue(text: str) -> list[pb.CatalogueItem]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CsvError(f"missing columns: {', '.join(missing)}")
    items = []
    for number, row in enumerate(reader, start=2):
        cls = (row["item_class"] or "").strip().upper()
        ratio = (row["pre_self_pay_ratio_bp"] or "0").strip()
        if cls not in CLASSES or not ratio.isdigit():
            raise CsvError(f"line {number}: item_class must be A/B/C and the ratio a whole number")
        items.append(pb.CatalogueItem(
            item_code=row["item_code"].strip(), name=row["name"].strip(),
            spec=(row["spec"] or "").strip(), unit_price=row["unit_price"].strip(),
            price_cap=(row["price_cap"] or "").strip(), item_class=CLASSES[cls],
            pre_self_pay_ratio_bp=int(ratio)))
    return items


def _stub(args: argparse.Namespace) -> pharmacy_pb2_grpc.PharmacyServiceStub:
    token = Path(args.token_file).read_text().strip()
    return pharmacy_pb2_grpc.PharmacyServiceStub(
        blocking_channel(args.target, Path(args.pki), token=token))


def import_catalogue(args: argparse.Namespace) -> int:
    data = Path(args.file).read_text(encoding="utf-8-sig")
    try:
        items = read_catalogue(data)
    except CsvError as exc:
        console.print(f"[red]{args.file}: {exc}")
        return 2
    digest = hashlib.sha256(data.encode()).hexdigest()[:16]
    stub = _stub(args)
    totals = [0, 0, 0]
    with Progress(TextColumn("[bold]catalogue"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("import", total=len(items))
        for start in range(0, len(items), args.batch):
            batch = items[start:start + args.batch]
            try:
                reply = stub.ImportCatalogue(pb.ImportCatalogueRequest(
                    request_id=f"catalogue-{args.institution}-{digest}-{args.batch}-{start}",
                    institution_code=args.institution, items=batch), timeout=60)
            except grpc.RpcError as exc:
                info = mapping_error(exc)
                console.print(f"[red]rows {start + 2}..{start + 1 + len(batch)}: {info}")
                return 1
            for i, n in enumerate((reply.created_count, reply.updated_count, reply.unchanged_count)):
                totals[i] += n
            progress.advance(task, len(batch))
    console.print(f"created {totals[0]}, updated {totals[1]}, unchanged {totals[2]}")
    return 0


def mapping_error(exc: grpc.RpcError) -> str:
    return f"{error_reason(exc) or exc.code().name}: {exc.details()}"


async def _detail_rows(url: str, institution: str, day: str, scheme: int) -> list:
    from medpay_pharmacy.usecases.reconcile import service_rows

    db = Database(url)
    try:
        async with db.read() as session:
            return await service_rows(session, institution, day, scheme)
    finally:
        await db.dispose()


def detail_file(args: argparse.Namespace) -> int:
    url = args.database_url or PharmacySettings().database_url
    rows = asyncio.run(_detail_rows(url, args.institution, args.date, args.insurance_type))
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        writer = csv.writer(out)
        writer.writerow(DETAIL_COLUMNS)
        for row in rows:
            p = row.parts
            writer.writerow([row.settlement_id, row.request_id, row.refund_id,
                             "1" if row.refund else "0", fen_to_yuan_text(p.total),
                             fen_to_yuan_text(p.fund_pay), fen_to_yuan_text(p.account_pay),
                             fen_to_yuan_text(p.cash_pay)])
    finally:
        if out is not sys.stdout:
            out.close()
    console.print(f"{len(rows)} rows for {args.institution} on {args.date}")
    return 0


def receipt(args: argparse.Namespace) -> int:
    try:
        reply = _stub(args).GetSettlement(pb.GetSettlementRequest(
            settlement_id=args.settlement_id, institution_code=args.institution), timeout=30)
    except grpc.RpcError as exc:
        console.print(f"[red]{mapping_error(exc)}")
        return 1
    print(render(mapping.slip(reply.receipt)))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m medpay_pharmacy.tools")
    sub = root.add_subparsers(dest="command", required=True)

    def grpc_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--target", default="localhost:50053")
        p.add_argument("--pki", default="var/pki")
        p.add_argument("--token-file", default="var/pki/operator.token")

    imp = sub.add_parser("import-catalogue", help="import a catalogue CSV")
    imp.add_argument("file")
    imp.add_argument("--institution", required=True)
    imp.add_argument("--batch", type=int, default=200)
    grpc_args(imp)
    imp.set_defaults(run=import_catalogue)

    det = sub.add_parser("detail-file", help="write the day's reconciliation detail CSV")
    det.add_argument("--institution", required=True)
    det.add_argument("--date", required=True)
    det.add_argument("--insurance-type", type=int, default=insurance_pb2.INSURANCE_TYPE_EMPLOYEE_BASIC)
    det.add_argument("--out")
    det.add_argument("--database-url")
    det.set_defaults(run=detail_file)

    rec = sub.add_parser("receipt", help="print a settlement as the till's slip")
    rec.add_argument("settlement_id")
    rec.add_argument("--institution", required=True)
    grpc_args(rec)
    rec.set_defaults(run=receipt)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
