"""The abuse limits as pure rules: failures in a window, lockout, and its end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from medpay_identity.domain.lockout import LockoutPolicy, LockState, locked_out, strictest

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = LockoutPolicy(max_failures=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_fresh_subject_has_every_attempt():
    assert POLICY.assess([], None, T0) == LockState(remaining=5, locked_until=None)


def test_failures_in_the_window_count_and_older_ones_do_not():
    failures = [at(-1000), at(-800), at(-10)]
    assert POLICY.assess(failures, None, T0).remaining == 3


def test_the_failure_that_reaches_the_limit_locks_for_the_lockout_time():
    state = POLICY.assess([at(-40), at(-30), at(-20), at(-10)], None, T0)
    assert state.remaining == 1
    after = POLICY.after_failure(state, T0)
    assert after == LockState(remaining=0, locked_until=at(900))
    assert after.is_locked(at(899)) and not after.is_locked(at(900))


def test_a_locked_subject_is_refused_with_when_to_retry():
    state = POLICY.assess([], at(600), T0)
    assert state.is_locked(T0)
    with pytest.raises(Exception) as err:
        state.refuse_if_locked(T0)
    assert err.value.reason == "LOCKED_OUT"
    assert err.value.metadata == {"lockedUntil": "2026-03-01T12:10:00Z", "retryAfterSeconds": "600"}


def test_failures_before_a_served_lockout_do_not_count_again():
    failures = [at(-100 + i) for i in range(5)]  # locked until at(800)
    assert POLICY.assess(failures, at(800), at(801)) == LockState(remaining=5, locked_until=None)
    assert POLICY.assess([*failures, at(850)], at(800), at(851)).remaining == 4


def test_too_many_failures_without_a_recorded_lock_still_lock():
    failures = [at(-50 + i) for i in range(6)]  # two replicas raced
    state = POLICY.assess(failures, None, T0)
    assert state.remaining == 0 and state.locked_until == at(-45 + 900)


def test_person_and_device_together_take_the_strictest():
    person = LockState(remaining=2, locked_until=None)
    device = LockState(remaining=0, locked_until=at(300))
    assert strictest([person, device]) == LockState(remaining=0, locked_until=at(300))


def test_retry_after_rounds_up_to_a_whole_second():
    assert locked_out(at(10.2), T0).metadata["retryAfterSeconds"] == "11"


def test_a_policy_needs_positive_limits():
    with pytest.raises(ValueError):
        LockoutPolicy(max_failures=0, window=timedelta(minutes=1), lockout=timedelta(minutes=1))
