"""Unit tests of the kit's pure parts: money, the error catalogue, redaction, config."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import structlog
from pydantic_settings import SettingsConfigDict

from medpay.common.v1 import errors_pb2
from medpay_kit.config import ServiceSettings, load_settings
from medpay_kit.errors import CODES, DomainError
from medpay_kit.logging import configure_logging
from medpay_kit.money import MoneyFormatError, apply_ratio, fen_to_yuan_text, parse_decimal, rh
from medpay_kit.redact import scrub_text

ID_NUMBER = "11010519491231002X"  # a syntactically valid sample, not a real person


def test_rounding_is_half_up_to_the_fen():
    assert rh(Decimal("12.5")) == 13
    assert rh(Decimal("12.4999")) == 12
    assert rh(Decimal("0.5")) == 1
    assert apply_ratio(25, 5000) == 13  # 12.5 fen rounds up


def test_decimal_parsing_is_exact_and_strict():
    assert parse_decimal("12.345678", max_places=6) == Decimal("12.345678")
    for bad in ("1e3", "-1", "12.3456789", "", "abc", "1.2.3", "0"):
        with pytest.raises(MoneyFormatError):
            parse_decimal(bad, max_places=6)
    assert fen_to_yuan_text(12345) == "123.45"
    assert fen_to_yuan_text(-5) == "-0.05"


def test_every_catalogued_reason_has_a_grpc_code_and_back():
    proto = {n.removeprefix("ERROR_REASON_") for n in errors_pb2.ErrorReason.keys()}
    proto.discard("UNSPECIFIED")
    assert proto == set(CODES)


def test_unknown_reason_is_a_programming_error():
    with pytest.raises(ValueError):
        DomainError("NOT_A_REASON", "x")


def test_redaction_removes_id_numbers_phones_and_credentials_from_text():
    text = f"person {ID_NUMBER} phone 13812345678 token pos_T1.abcdefghijklmnop"
    clean = scrub_text(text)
    assert ID_NUMBER not in clean and "13812345678" not in clean and "abcdefghijklmnop" not in clean


def test_a_log_line_with_personal_data_prints_none_of_it(capsys):
    configure_logging("test", fmt="json")
    log = structlog.get_logger()
    log.info("person_enrolled", id_number=ID_NUMBER, name="张三", note=f"id {ID_NUMBER}",
             photo=b"\xff\xd8jpeg", nested={"phone": "13812345678", "ok": 1})
    out = capsys.readouterr().err
    line = json.loads(out.strip().splitlines()[-1])
    assert line["event"] == "person_enrolled"
    assert ID_NUMBER not in out and "张三" not in out and "13812345678" not in out
    assert "jpeg" not in out
    assert line["nested"]["ok"] == 1


class _Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEDPAY_UNITTEST_", extra="ignore", frozen=True)


def test_a_bad_setting_names_the_variable_and_exits(monkeypatch, capsys):
    monkeypatch.setenv("MEDPAY_UNITTEST_PORT", "seventy")
    with pytest.raises(SystemExit) as exit_info:
        load_settings(_Settings)
    assert exit_info.value.code == 2
    assert "MEDPAY_UNITTEST_PORT" in capsys.readouterr().err


def test_each_reason_travels_with_the_code_its_contract_documents():
    """errors.proto documents each reason's status code; the kit's table must agree."""
    import re

    from support.harness import ROOT

    text = (ROOT / "protos/medpay/common/v1/errors.proto").read_text()
    documented = dict(
        (reason, code) for code, reason in
        re.findall(r"//\s*([A-Z_]+):[^\n]*\n\s*ERROR_REASON_([A-Z_]+)\s*=", text))
    assert documented == {reason: code.name for reason, code in CODES.items()}


def test_trace_ids_and_hex_strings_are_not_mistaken_for_phone_numbers(capsys):
    configure_logging("test", fmt="json")
    trace_id = "0af7651916cd43dd8448eb211c80319c"  # contains 13 digits that look like a phone
    structlog.get_logger().info("probe", note="ref a13812345678b", trace_id=trace_id)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["trace_id"] == trace_id and line["note"] == "ref a13812345678b"
