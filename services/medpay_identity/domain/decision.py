"""The face-auth decision: frames analysed by the engine → one outcome with its numbers.

Rules, in order:

1. a frame the engine refused decides the outcome with the engine's reason (``NO_FACE``,
   ``MULTIPLE_FACES``, ``FACE_TOO_SMALL``, ``IMAGE_INVALID``), first refused frame first;
2. the match: ``distance`` is the *largest* distance of any frame to the reference, so
   "matched" means every frame is within the threshold (``MISMATCH`` otherwise);
3. liveness: the pluggable :class:`~medpay_identity.domain.liveness.LivenessChecker`
   (``LIVENESS_FAILED`` otherwise).

Every decision carries the distance and the threshold it was compared with. When no frame
could be analysed there is no distance: it is reported as 0 with ``matched`` false.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from medpay_identity.domain.face import FaceObservation, distance
from medpay_identity.domain.liveness import LivenessAction, LivenessChecker


class Outcome(enum.StrEnum):
    """FaceOutcome names without their prefix; failures share their ErrorReason's name."""

    MATCHED = "MATCHED"
    MISMATCH = "MISMATCH"
    LIVENESS_FAILED = "LIVENESS_FAILED"
    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    FACE_TOO_SMALL = "FACE_TOO_SMALL"
    IMAGE_INVALID = "IMAGE_INVALID"

    @property
    def reason(self) -> str:
        """The ErrorReason of a failure (``FACE_MISMATCH`` for ``MISMATCH``)."""
        return "FACE_MISMATCH" if self is Outcome.MISMATCH else self.value


#: engine refusals that are decided failures (IMAGE_TOO_LARGE stays an error)
FRAME_REFUSALS = frozenset({"NO_FACE", "MULTIPLE_FACES", "FACE_TOO_SMALL", "IMAGE_INVALID"})

_REFUSAL_WORDS = {
    "NO_FACE": "no face found",
    "MULTIPLE_FACES": "more than one face",
    "FACE_TOO_SMALL": "the face is too small",
    "IMAGE_INVALID": "not a complete JPEG or PNG",
}


@dataclass(frozen=True, slots=True)
class FrameRefused:
    """The engine's refusal of one frame (a reason from :data:`FRAME_REFUSALS`)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    distance: float
    threshold: float
    liveness_passed: bool
    liveness_detail: str

    @property
    def matched(self) -> bool:
        """The face matched (every frame within the threshold), live or not."""
        return self.outcome in (Outcome.MATCHED, Outcome.LIVENESS_FAILED)

    @property
    def succeeded(self) -> bool:
        return self.outcome is Outcome.MATCHED


def decide(
    actions: Sequence[LivenessAction],
    frames: Sequence[FaceObservation | FrameRefused],
    reference: Sequence[float],
    threshold: float,
    checker: LivenessChecker,
) -> Decision:
    seen = [f for f in frames if isinstance(f, FaceObservation)]
    distances = [distance(reference, obs.embedding) for obs in seen]
    worst = max(distances, default=0.0)
    for i, frame in enumerate(frames):
        if isinstance(frame, FrameRefused):
            return Decision(Outcome(frame.reason), worst, threshold, False,
                            f"frame {i}: {_REFUSAL_WORDS.get(frame.reason, frame.reason)}")
    if worst > threshold:
        index = distances.index(worst)
        return Decision(Outcome.MISMATCH, worst, threshold, False,
                        f"frame {index} is not the enrolled person")
    result = checker.check(actions, seen, reference, threshold)
    outcome = Outcome.MATCHED if result.passed else Outcome.LIVENESS_FAILED
    return Decision(outcome, worst, threshold, result.passed, result.detail)
