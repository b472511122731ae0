"""The kit's outcome rules: which answers mean "outcome unknown", and how a failure after an
effect is answered (pure functions; the services are tested end to end elsewhere)."""

from __future__ import annotations

import grpc
import pytest
from structlog.testing import capture_logs

from medpay_kit.errors import (
    CODES,
    OUTCOME_UNKNOWN_REASONS,
    DomainError,
    outcome_unknown_on_failure,
)
from medpay_kit.idempotency import key_lock_id


def test_an_unexpected_failure_after_an_effect_is_outcome_unknown_with_its_object():
    with capture_logs() as logs, pytest.raises(DomainError) as err, \
            outcome_unknown_on_failure("ask again", settlementId="S1"):
        raise RuntimeError("the database went away")
    assert err.value.reason == "OUTCOME_UNKNOWN" and err.value.metadata == {"settlementId": "S1"}
    assert [e["event"] for e in logs] == ["outcome_unknown_after_failure"]
    assert err.value.code == grpc.StatusCode.UNAVAILABLE  # retried with the same request id


def test_a_refusal_after_an_effect_passes_unchanged():
    with pytest.raises(DomainError) as err, outcome_unknown_on_failure("ask again"):
        raise DomainError("CHANNEL_DECLINED", "declined")
    assert err.value.reason == "CHANNEL_DECLINED"


def test_unknown_outcomes_are_exactly_the_retry_with_the_same_id_answers():
    assert {CODES[r] for r in OUTCOME_UNKNOWN_REASONS} == {
        grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED}
    assert "CHANNEL_TIMEOUT" not in OUTCOME_UNKNOWN_REASONS  # failed, nothing charged
    assert "INTERNAL" not in OUTCOME_UNKNOWN_REASONS  # only before anything was committed


def test_each_idempotency_key_locks_its_own_signed_64_bit_id():
    first = key_lock_id("pos:P1", "Settle", "r-1")
    assert first == key_lock_id("pos:P1", "Settle", "r-1")
    assert -2**63 <= first < 2**63
    assert len({first, key_lock_id("pos:P2", "Settle", "r-1"), key_lock_id("pos:P1", "Void", "r-1"),
                key_lock_id("pos:P1", "Settle", "r-2")}) == 4
