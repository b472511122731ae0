"""Liveness as challenge and response: turn your head the way we ask, in the order we ask.

What this is, honestly: a **challenge-response check**, not a certified presentation-attack
detector (ISO/IEC 30107-3). It shows that the frames come from the enrolled person and that
the head moved as a fresh, random challenge asked; it raises the cost of replaying one
photo or an old video. It does not stop a good mask, a deepfake video driven in real time,
or an injected camera stream. It sits behind the :class:`LivenessChecker` protocol so a
certified detector (a vendor SDK, a depth or texture model) can replace or join it.

:class:`HeadTurnChallenge` rules, in the order they are checked:

1. every frame matches the reference (distance at most the match threshold);
2. the frames are not one still picture: no two embeddings identical, and the head yaw
   (:func:`~medpay_identity.domain.face.estimate_yaw`) varies by at least a minimum;
3. the yaw sequence shows a frontal frame, then a turn in the first requested direction,
   then a turn in the next one, and so on, in that order (other frames may sit between).
   Each turn is measured from the yaw of that frontal frame, so a face whose landmarks
   read slightly turned when it looks straight at the camera is judged fairly.

Directions are the person's own: ``TURN_LEFT`` means they turn their head to their left,
which raises the yaw estimate in an un-mirrored frame. Frame numbers in details are 0-based,
in the order the frames were sent.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from medpay_identity.domain.face import FaceObservation, distance, estimate_yaw


class LivenessAction(enum.StrEnum):
    """One thing the person is asked to do in front of the camera."""

    TURN_LEFT = "TURN_LEFT"
    TURN_RIGHT = "TURN_RIGHT"


#: sign of the yaw estimate each turn must reach (positive = the person's left)
_TURN_SIGN = {LivenessAction.TURN_LEFT: 1.0, LivenessAction.TURN_RIGHT: -1.0}
_TURN_WORD = {LivenessAction.TURN_LEFT: "left", LivenessAction.TURN_RIGHT: "right"}


def random_challenge(rng: random.Random) -> tuple[LivenessAction, LivenessAction]:
    """Two different head turns in a random order; pass ``random.SystemRandom()`` in service."""
    first, second = rng.sample([LivenessAction.TURN_LEFT, LivenessAction.TURN_RIGHT], 2)
    return first, second


@dataclass(frozen=True, slots=True)
class LivenessResult:
    """The outcome and a short, data-free reason that can go to the caller and the audit."""

    passed: bool
    detail: str


class LivenessChecker(Protocol):
    """Decides whether frames answer a challenge; pure, no I/O."""

    def check(
        self,
        actions: Sequence[LivenessAction],
        observations: Sequence[FaceObservation],
        reference_embedding: Sequence[float],
        threshold: float,
    ) -> LivenessResult: ...


@dataclass(frozen=True, slots=True)
class HeadTurnChallenge:
    """The head-turn challenge checker (see the module docstring for the rules).

    ``frontal_max_yaw``: largest absolute yaw that counts as facing the camera;
    ``turn_min_yaw``: smallest change of yaw from the frontal frame, in the requested
    direction, that counts as a turn (0.12 is roughly a 12-15 degree turn);
    ``min_yaw_spread``: below this spread (max - min yaw) the frames are a still picture.
    """

    frontal_max_yaw: float = 0.15
    turn_min_yaw: float = 0.12
    min_yaw_spread: float = 0.2

    def __post_init__(self) -> None:
        if self.frontal_max_yaw < 0 or self.turn_min_yaw <= 0 or self.min_yaw_spread < 0:
            raise ValueError("yaw limits cannot be negative, and a turn must be more than 0")

    def check(
        self,
        actions: Sequence[LivenessAction],
        observations: Sequence[FaceObservation],
        reference_embedding: Sequence[float],
        threshold: float,
    ) -> LivenessResult:
        if not actions:
            raise ValueError("a challenge has at least one action")
        unknown = [a for a in actions if a not in _TURN_SIGN]
        if unknown:
            raise ValueError(f"HeadTurnChallenge cannot check {unknown[0]}")
        if len(observations) < len(actions) + 1:
            return _fail(f"{len(observations)} frames; at least {len(actions) + 1} are needed")
        for i, obs in enumerate(observations):
            if distance(reference_embedding, obs.embedding) > threshold:
                return _fail(f"frame {i} is not the enrolled person")
        yaws = [estimate_yaw(o.landmarks) for o in observations]
        still = self._still_picture(observations, yaws)
        if still:
            return _fail(still)
        return self._follow(actions, yaws)

    def _still_picture(self, observations: Sequence[FaceObservation], yaws: Sequence[float]) -> str | None:
        seen: dict[tuple[float, ...], int] = {}
        for i, obs in enumerate(observations):
            if obs.embedding in seen:
                return f"frames {seen[obs.embedding]} and {i} are the same picture"
            seen[obs.embedding] = i
        if max(yaws) - min(yaws) < self.min_yaw_spread:
            return "the head did not move: the frames look like one still picture"
        return None

    def _follow(self, actions: Sequence[LivenessAction], yaws: Sequence[float]) -> LivenessResult:
        """Pass if, from some frontal frame on, the turns appear in the requested order."""
        frontal = [i for i, yaw in enumerate(yaws) if abs(yaw) <= self.frontal_max_yaw]
        if not frontal:
            return _fail("no frame faces the camera")
        best_reached, best_detail = -1, ""
        for anchor in frontal:
            reached, detail = self._turns_from(anchor, actions, yaws)
            if reached == len(actions):
                return LivenessResult(passed=True, detail=detail)
            if reached > best_reached:
                best_reached, best_detail = reached, detail
        return _fail(best_detail)

    def _turns_from(
        self, anchor: int, actions: Sequence[LivenessAction], yaws: Sequence[float]
    ) -> tuple[int, str]:
        """How many turns follow frontal frame ``anchor`` in order, and a detail saying so."""
        steps = [f"frontal frame {anchor}"]
        position = anchor
        for reached, action in enumerate(actions):
            sign, word = _TURN_SIGN[action], _TURN_WORD[action]
            found = next(
                (
                    i
                    for i in range(position + 1, len(yaws))
                    if sign * (yaws[i] - yaws[anchor]) >= self.turn_min_yaw
                ),
                None,
            )
            if found is None:
                return reached, f"no turn to the {word} after " + ", then ".join(steps)
            steps.append(f"{word} in frame {found}")
            position = found
        return len(actions), ", then ".join(steps)


def _fail(detail: str) -> LivenessResult:
    return LivenessResult(passed=False, detail=detail)
