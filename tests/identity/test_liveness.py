"""The head-turn challenge: pure rules on fake observations, then the real engine on
synthesised head-turn frames (see ``support.faces.turned``).
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medpay_identity.domain.face import FaceObservation, decide_match, distance, estimate_yaw
from medpay_identity.domain.liveness import (
    HeadTurnChallenge,
    LivenessAction,
    random_challenge,
)

LEFT, RIGHT = LivenessAction.TURN_LEFT, LivenessAction.TURN_RIGHT
THRESHOLD = 0.5
REFERENCE = tuple(0.05 * math.sin(i) for i in range(128))


# ----- fakes ---------------------------------------------------------------------------------


def landmarks(yaw: float, *, roll_deg: float = 0.0, scale: float = 1.0) -> tuple[tuple[float, float], ...]:
    """Five dlib-ordered points whose nose sits ``yaw`` eye-distances right of the eye midpoint."""
    points = [(140, 100), (120, 100), (60, 100), (80, 100), (100 + 60 * yaw, 140)]
    c, s = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    return tuple((scale * (c * x - s * y), scale * (s * x + c * y)) for x, y in points)


def frame(yaw: float, n: int, *, offset: float = 0.0) -> FaceObservation:
    """A fake observation of the reference person (or a stranger, with ``offset``)."""
    embedding = tuple(v + offset + 1e-4 * n * (i % 3) for i, v in enumerate(REFERENCE))
    return FaceObservation(embedding=embedding, landmarks=landmarks(yaw), box=(40, 60, 160, 180))


def frames(*yaws: float) -> list[FaceObservation]:
    return [frame(y, n) for n, y in enumerate(yaws)]


checker = HeadTurnChallenge()


# ----- estimate_yaw, distance, decide_match --------------------------------------------------


def test_a_frontal_face_has_zero_yaw():
    assert estimate_yaw(landmarks(0.0)) == pytest.approx(0.0)


def test_yaw_is_positive_when_the_nose_moves_to_the_image_right():
    assert estimate_yaw(landmarks(0.3)) == pytest.approx(0.3)
    assert estimate_yaw(landmarks(-0.3)) == pytest.approx(-0.3)


def test_yaw_ignores_head_tilt_and_image_scale():
    assert estimate_yaw(landmarks(0.25, roll_deg=20, scale=3.0)) == pytest.approx(0.25)


def test_yaw_changes_sign_in_a_mirror():
    mirrored = [(-x, y) for x, y in landmarks(0.2)]
    mirrored = [mirrored[2], mirrored[3], mirrored[0], mirrored[1], mirrored[4]]  # eyes swap roles
    assert estimate_yaw(mirrored) == pytest.approx(-0.2)


def test_yaw_needs_five_distinct_landmarks():
    with pytest.raises(ValueError):
        estimate_yaw(landmarks(0.0)[:4])
    with pytest.raises(ValueError):
        estimate_yaw([(1.0, 1.0)] * 5)


def test_a_match_includes_its_threshold_boundary():
    obs = FaceObservation(embedding=(0.5,) + (0.0,) * 127, landmarks=landmarks(0), box=(0, 0, 1, 1))
    decision = decide_match((0.0,) * 128, obs, threshold=0.5)
    assert decision.matched and decision.distance == 0.5 and decision.threshold == 0.5
    assert not decide_match((0.0,) * 128, obs, threshold=0.49).matched


def test_distance_refuses_embeddings_of_different_lengths():
    with pytest.raises(ValueError):
        distance((0.0,) * 128, (0.0,) * 127)


def test_an_observation_checks_its_shape():
    with pytest.raises(ValueError):
        FaceObservation(embedding=(0.0,) * 127, landmarks=landmarks(0), box=(0, 0, 1, 1))


# ----- the challenge -------------------------------------------------------------------------


def test_a_challenge_is_two_different_turns_in_a_random_order():
    seen = {random_challenge(random.Random(seed)) for seed in range(50)}
    assert seen == {(LEFT, RIGHT), (RIGHT, LEFT)}


def test_frontal_then_left_then_right_passes_when_asked_left_then_right():
    result = checker.check([LEFT, RIGHT], frames(0.0, 0.25, -0.25), REFERENCE, THRESHOLD)
    assert result.passed, result.detail
    assert result.detail == "frontal frame 0, then left in frame 1, then right in frame 2"


def test_the_same_turns_in_the_other_order_fail():
    result = checker.check([RIGHT, LEFT], frames(0.0, 0.25, -0.25), REFERENCE, THRESHOLD)
    assert not result.passed
    assert result.detail == "no turn to the left after frontal frame 0, then right in frame 2"


def test_frames_in_between_do_not_matter():
    yaws = (0.3, 0.02, 0.05, 0.1, 0.2, 0.08, -0.05, -0.2, -0.1)
    assert checker.check([LEFT, RIGHT], frames(*yaws), REFERENCE, THRESHOLD).passed


def test_turns_are_measured_from_the_frontal_frame():
    # looks slightly left when facing the camera: +0.14 reads frontal, +0.27 is a left turn
    assert checker.check([LEFT, RIGHT], frames(0.14, 0.27, 0.0), REFERENCE, THRESHOLD).passed
    assert not checker.check([LEFT, RIGHT], frames(0.14, 0.2, -0.1), REFERENCE, THRESHOLD).passed


def test_a_frame_of_someone_else_fails_and_is_named():
    observed = frames(0.0, 0.25, -0.25)
    observed[2] = frame(-0.25, 2, offset=0.1)  # distance 1.13
    result = checker.check([LEFT, RIGHT], observed, REFERENCE, THRESHOLD)
    assert not result.passed
    assert result.detail == "frame 2 is not the enrolled person"


def test_a_repeated_picture_fails():
    still = frame(0.0, 0)
    result = checker.check(
        [LEFT, RIGHT], [still, frame(0.25, 1), still, frame(-0.25, 3)], REFERENCE, THRESHOLD
    )
    assert not result.passed
    assert result.detail == "frames 0 and 2 are the same picture"


def test_a_head_that_does_not_move_fails():
    result = checker.check([LEFT, RIGHT], frames(0.0, 0.05, -0.05, 0.02), REFERENCE, THRESHOLD)
    assert not result.passed
    assert "did not move" in result.detail


def test_no_frontal_frame_fails():
    result = checker.check([LEFT, RIGHT], frames(0.3, 0.5, -0.3), REFERENCE, THRESHOLD)
    assert result == type(result)(passed=False, detail="no frame faces the camera")


def test_too_few_frames_fail():
    assert not checker.check([LEFT, RIGHT], frames(0.0, 0.3), REFERENCE, THRESHOLD).passed


def test_a_challenge_needs_actions_the_checker_knows():
    with pytest.raises(ValueError):
        checker.check([], frames(0.0, 0.3, -0.3), REFERENCE, THRESHOLD)
    with pytest.raises(ValueError):
        HeadTurnChallenge(turn_min_yaw=0)


def _oracle(actions: list[LivenessAction], yaws: list[float], c: HeadTurnChallenge) -> bool:
    """The ordering rule, by brute force over every choice of frames."""
    signs = [1 if a is LEFT else -1 for a in actions]

    def rest(anchor: float, start: int, todo: list[int]) -> bool:
        if not todo:
            return True
        return any(
            todo[0] * (yaws[i] - anchor) >= c.turn_min_yaw and rest(anchor, i + 1, todo[1:])
            for i in range(start, len(yaws))
        )

    return any(abs(y) <= c.frontal_max_yaw and rest(y, f + 1, signs) for f, y in enumerate(yaws))


@given(
    actions=st.sampled_from([[LEFT, RIGHT], [RIGHT, LEFT], [LEFT], [RIGHT, LEFT, RIGHT]]),
    yaws=st.lists(st.floats(-0.6, 0.6), min_size=4, max_size=9),
)
def test_the_order_rule_agrees_with_brute_force(actions, yaws):
    c = HeadTurnChallenge(min_yaw_spread=0)
    result = c.check(actions, frames(*yaws), REFERENCE, THRESHOLD)
    assert result.passed == _oracle(actions, yaws, c), result.detail


# ----- the real engine on synthesised frames -------------------------------------------------


@pytest.fixture(scope="module")
def engine():
    from medpay_identity.adapters.dlib_engine import DlibFaceEngine

    return DlibFaceEngine()


@pytest.fixture(scope="module")
def recorded(engine):
    """For each person: the frontal photo's observation and its left/right turned frames."""
    from support.faces import photo, turned

    out = {}
    for name in ("obama1", "obama2", "obama3", "biden"):
        frontal = photo(name)
        out[name] = {
            "frontal": engine.analyse(frontal),
            "left": engine.analyse(turned(frontal, "left")),
            "right": engine.analyse(turned(frontal, "right")),
        }
    return out


@pytest.mark.parametrize("name", ["obama1", "obama2", "obama3"])
def test_synthesised_turns_stay_the_same_person_and_turn_the_right_way(recorded, name):
    seen = recorded[name]
    yaw = {k: estimate_yaw(obs.landmarks) for k, obs in seen.items()}
    print(f"\n{name}: yaw frontal {yaw['frontal']:+.3f} left {yaw['left']:+.3f} right {yaw['right']:+.3f}")
    for side in ("left", "right"):
        d = distance(seen["frontal"].embedding, seen[side].embedding)
        print(f"{name}: distance frontal-{side} = {d:.3f}")
        assert d < THRESHOLD
    assert yaw["left"] - yaw["frontal"] >= checker.turn_min_yaw
    assert yaw["frontal"] - yaw["right"] >= checker.turn_min_yaw


@pytest.mark.parametrize("name", ["obama1", "obama2", "obama3"])
@pytest.mark.parametrize("order", [(LEFT, RIGHT), (RIGHT, LEFT)])
def test_real_frames_in_the_asked_order_pass(recorded, name, order):
    seen = recorded[name]
    observed = [seen["frontal"], *(seen["left" if a is LEFT else "right"] for a in order)]
    result = checker.check(order, observed, seen["frontal"].embedding, THRESHOLD)
    assert result.passed, result.detail


def test_real_frames_pass_against_a_reference_from_another_photo(recorded):
    seen = recorded["obama1"]
    reference = recorded["obama2"]["frontal"].embedding
    result = checker.check(
        (LEFT, RIGHT), [seen["frontal"], seen["left"], seen["right"]], reference, THRESHOLD
    )
    assert result.passed, result.detail


@pytest.mark.parametrize("name", ["obama1", "obama2", "obama3"])
def test_real_frames_in_the_wrong_order_fail(recorded, name):
    seen = recorded[name]
    observed = [seen["frontal"], seen["right"], seen["left"]]
    result = checker.check((LEFT, RIGHT), observed, seen["frontal"].embedding, THRESHOLD)
    assert not result.passed
    assert result.detail.startswith("no turn to the right after")


def test_a_real_still_photo_sent_three_times_fails(engine, recorded):
    from support.faces import photo, shrunk

    seen = recorded["obama1"]
    same = checker.check((LEFT, RIGHT), [seen["frontal"]] * 3, seen["frontal"].embedding, THRESHOLD)
    assert not same.passed and same.detail == "frames 0 and 1 are the same picture"
    # the same picture resized and re-encoded: the embeddings differ, the head does not move
    copies = [engine.analyse(shrunk(photo("obama1"), factor)) for factor in (0.95, 0.9)]
    still = checker.check((LEFT, RIGHT), [seen["frontal"], *copies], seen["frontal"].embedding, THRESHOLD)
    assert not still.passed and "did not move" in still.detail


def test_real_frames_of_another_person_fail(recorded):
    reference = recorded["obama1"]["frontal"].embedding
    biden = recorded["biden"]
    result = checker.check(
        (LEFT, RIGHT), [biden["frontal"], biden["left"], biden["right"]], reference, THRESHOLD
    )
    assert not result.passed and result.detail == "frame 0 is not the enrolled person"
    mixed = [recorded["obama1"]["frontal"], biden["left"], recorded["obama1"]["right"]]
    result = checker.check((LEFT, RIGHT), mixed, reference, THRESHOLD)
    assert not result.passed and result.detail == "frame 1 is not the enrolled person"
