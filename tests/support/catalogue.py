"""The sample pharmacy catalogue the tests load, as the pharmacy contract's items."""

from __future__ import annotations

import csv

from medpay.common.v1 import insurance_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from support.harness import ROOT

SAMPLE = ROOT / "services/medpay_pharmacy/data/sample_catalogue.csv"
CLASSES = {"A": insurance_pb2.ITEM_CLASS_A, "B": insurance_pb2.ITEM_CLASS_B,
           "C": insurance_pb2.ITEM_CLASS_C}


def sample_items() -> list[pb.CatalogueItem]:
    with SAMPLE.open(encoding="utf-8") as f:
        return [pb.CatalogueItem(
            item_code=r["item_code"], name=r["name"], spec=r["spec"], unit_price=r["unit_price"],
            price_cap=r["price_cap"], item_class=CLASSES[r["item_class"]],
            pre_self_pay_ratio_bp=int(r["pre_self_pay_ratio_bp"])) for r in csv.DictReader(f)]
