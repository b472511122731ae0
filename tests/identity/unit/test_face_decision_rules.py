"""The face-auth decision and the session rules, on fake observations (no engine)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from medpay_identity.domain.decision import FrameRefused, Outcome, decide
from medpay_identity.domain.face import FaceObservation
from medpay_identity.domain.liveness import HeadTurnChallenge, LivenessAction
from medpay_identity.domain.session import (
    CLAIM_LEASE,
    FaceSession,
    Purpose,
    SessionState,
    decode_actions,
    encode_actions,
)
from medpay_kit.errors import DomainError

LEFT, RIGHT = LivenessAction.TURN_LEFT, LivenessAction.TURN_RIGHT
REFERENCE = tuple(0.05 * math.sin(i) for i in range(128))
CHECKER = HeadTurnChallenge()


def obs(yaw: float, n: int, offset: float = 0.0) -> FaceObservation:
    points = ((140, 100), (120, 100), (60, 100), (80, 100), (100 + 60 * yaw, 140))
    embedding = tuple(v + offset + 1e-4 * n * (i % 3) for i, v in enumerate(REFERENCE))
    return FaceObservation(embedding=embedding, landmarks=points, box=(40, 60, 160, 180))


def test_live_frames_of_the_person_match_with_their_numbers():
    d = decide([LEFT, RIGHT], [obs(0, 0), obs(0.25, 1), obs(-0.25, 2)], REFERENCE, 0.5, CHECKER)
    assert d.outcome is Outcome.MATCHED and d.succeeded and d.matched and d.liveness_passed
    assert d.threshold == 0.5 and 0 < d.distance < 0.01


def test_the_worst_frame_decides_the_match():
    frames = [obs(0, 0), obs(0.25, 1), obs(-0.25, 2, offset=0.05)]  # the last is ~0.57 away
    d = decide([LEFT, RIGHT], frames, REFERENCE, 0.5, CHECKER)
    assert d.outcome is Outcome.MISMATCH and d.outcome.reason == "FACE_MISMATCH"
    assert d.distance == pytest.approx(0.05 * math.sqrt(128), abs=0.01) and not d.matched
    assert d.liveness_detail == "frame 2 is not the enrolled person"


def test_a_matching_face_that_does_not_turn_as_asked_fails_liveness():
    d = decide([RIGHT, LEFT], [obs(0, 0), obs(0.25, 1), obs(-0.25, 2)], REFERENCE, 0.5, CHECKER)
    assert d.outcome is Outcome.LIVENESS_FAILED and d.matched and not d.succeeded


def test_a_refused_frame_decides_first_with_its_reason():
    frames = [obs(0, 0), FrameRefused("NO_FACE"), FrameRefused("MULTIPLE_FACES")]
    d = decide([LEFT, RIGHT], frames, REFERENCE, 0.5, CHECKER)
    assert d.outcome is Outcome.NO_FACE and d.liveness_detail == "frame 1: no face found"
    assert not d.matched


def test_no_usable_frame_reports_no_distance_as_zero_and_no_match():
    d = decide([LEFT, RIGHT], [FrameRefused("IMAGE_INVALID")] * 3, REFERENCE, 0.5, CHECKER)
    assert (d.outcome, d.distance, d.matched) == (Outcome.IMAGE_INVALID, 0.0, False)


# ----- sessions -------------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def session(state=SessionState.OPEN) -> FaceSession:
    return FaceSession("fas_1", "per_1", Purpose.CARD_ISSUE, "dev", "card", "n0nce", (LEFT, RIGHT),
                       NOW + timedelta(seconds=120), state)


def reason(s: FaceSession, nonce: str, now: datetime) -> str:
    with pytest.raises(DomainError) as err:
        s.check_completable(nonce, now)
    return err.value.reason


def test_an_open_session_completes_with_its_nonce_before_it_expires():
    session().check_completable("n0nce", NOW + timedelta(seconds=119))
    assert session().frames_expected == 3


def test_the_nonce_is_checked_before_the_state_and_the_expiry():
    assert reason(session(SessionState.USED), "wrong", NOW + timedelta(days=1)) == "NONCE_MISMATCH"
    assert reason(session(SessionState.USED), "n0nce", NOW + timedelta(days=1)) == "SESSION_USED"
    assert reason(session(), "n0nce", NOW + timedelta(seconds=120)) == "SESSION_EXPIRED"


def test_a_claimed_session_is_in_progress_for_its_twin_used_for_others_until_the_lease_lapses():
    claimed = FaceSession("fas_1", "per_1", Purpose.CARD_ISSUE, "dev", "card", "n0nce", (LEFT, RIGHT),
                          NOW + timedelta(seconds=120), SessionState.OPEN, claim_key=7, claimed_at=NOW)
    session().check_unclaimed(7, NOW)  # nobody holds it
    for key, expected in ((7, "REQUEST_IN_PROGRESS"), (8, "SESSION_USED")):
        with pytest.raises(DomainError) as err:
            claimed.check_unclaimed(key, NOW + CLAIM_LEASE - timedelta(microseconds=1))
        assert err.value.reason == expected
    claimed.check_unclaimed(8, NOW + CLAIM_LEASE)  # a crashed completion's claim lapses


def test_actions_survive_the_database_round_trip():
    assert decode_actions(encode_actions((RIGHT, LEFT))) == (RIGHT, LEFT)
