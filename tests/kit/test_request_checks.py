"""The kit's request checks and log bounds as pure functions (the fuzz suite runs them for real)."""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from medpay.billing.v1 import billing_pb2
from medpay.pharmacy.v1 import pharmacy_pb2
from medpay_kit.auth import issue_credential
from medpay_kit.errors import DomainError
from medpay_kit.logging import configure_logging
from medpay_kit.redact import MAX_VALUE_CHARS, scrub, scrub_text
from medpay_kit.validation import UNDECODABLE, check_request, decoding


def refusal(request) -> tuple[str, dict]:
    with pytest.raises(DomainError) as err:
        check_request(request)
    return err.value.reason, err.value.metadata


def test_undeclared_enum_numbers_are_refused_naming_the_field():
    assert refusal(pharmacy_pb2.ListSettlementsRequest(status=99)) == (
        "INVALID_ARGUMENT", {"field": "status"})
    request = pharmacy_pb2.ImportCatalogueRequest(items=[pharmacy_pb2.CatalogueItem(),
                                                         pharmacy_pb2.CatalogueItem(item_class=7)])
    assert refusal(request) == ("INVALID_ARGUMENT", {"field": "items[1].item_class"})
    check_request(pharmacy_pb2.ListSettlementsRequest(status=pharmacy_pb2.SETTLEMENT_STATUS_COMPLETED))


@pytest.mark.parametrize(("seconds", "nanos"), [
    (253_402_300_800, 0), (-62_135_596_801, 0), (0, -1), (0, 1_000_000_000)])
def test_timestamps_outside_protobufs_range_are_refused(seconds, nanos):
    request = billing_pb2.BookAppointmentRequest(slot_start=Timestamp(seconds=seconds, nanos=nanos))
    assert refusal(request) == ("INVALID_ARGUMENT", {"field": "slot_start"})


def test_timestamps_at_the_edges_of_the_range_pass():
    for seconds in (253_402_300_799, -62_135_596_800):
        check_request(billing_pb2.BookAppointmentRequest(slot_start=Timestamp(seconds=seconds)))


def test_bytes_that_do_not_decode_become_malformed_request():
    decode = decoding(pharmacy_pb2.SettleRequest.FromString)
    for raw in (b"\x0a\x02\xc3\x28", b"\x08\x80", b"\xff\xff"):
        assert decode(raw) is UNDECODABLE
        assert refusal(decode(raw))[0] == "MALFORMED_REQUEST"
    assert decode(pharmacy_pb2.SettleRequest(request_id="r").SerializeToString()).request_id == "r"


@pytest.mark.parametrize("prefix", ["op", "pos", "his", "dev", "app"])
def test_every_credential_format_is_recognised_even_with_dashes_and_underscores(prefix):
    token = issue_credential(prefix, "phone-1a_b-2").token
    secret = token.split(".", 1)[1]
    for text in (token, f"x{token}y", f"request {token}, again", f"Bearer {token}"):
        clean = scrub_text(text)
        assert secret not in clean and token not in clean


def test_assertions_and_qr_payloads_are_recognised():
    assertion = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJwIn0.c2lnbmF0dXJlLXBhcnQ"
    qr = "MPQR1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw"
    assert scrub_text(f"a {assertion} b {qr}") == "a [assertion] b [qr]"


def test_every_value_is_bounded_and_a_secret_across_the_cut_is_still_removed():
    token = issue_credential("pos", "T-1").token
    text = "x" * (MAX_VALUE_CHARS - 5) + token
    clean = scrub(text)
    assert len(clean) < MAX_VALUE_CHARS + 40 and token[-20:] not in clean and token[:12] not in clean
    assert len(scrub(["y" * 10**6] * 1000)) <= 50
    assert all(len(v) < MAX_VALUE_CHARS + 40 for v in scrub({"k": "z" * 10**6}).values())


def test_stdlib_records_become_bounded_json_lines(capsys):
    configure_logging("test", fmt="json")
    try:
        raise ValueError("x" * 100_000)
    except ValueError:
        logging.getLogger("grpc._cython.cygrpc").exception("Unexpected error")
    structlog.get_logger().info("probe", request_id="r" * 5_000_000)
    lines = capsys.readouterr().err.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["logger"] == "grpc._cython.cygrpc" and "ValueError" in records[0]["exception"]
    assert all(len(line) < 16 * 1024 for line in lines)


def test_strings_holding_nul_are_refused_wherever_they_are():
    assert refusal(pharmacy_pb2.SettleRequest(request_id="a\x00b")) == (
        "INVALID_ARGUMENT", {"field": "request_id"})
    request = pharmacy_pb2.SettleRequest(lines=[pharmacy_pb2.SaleLine(item_code="\x00")])
    assert refusal(request) == ("INVALID_ARGUMENT", {"field": "lines[0].item_code"})
