"""What a face engine observes in one image, and the rules that compare observations.

A :class:`FaceEngine` turns image bytes into a :class:`FaceObservation`: a 128-number
embedding, five landmarks and the face's box. Everything after that is plain arithmetic
here: the Euclidean :func:`distance` between embeddings, the :func:`decide_match` rule
against a configured threshold, and a rough head-yaw estimate from the landmarks.

Landmarks follow dlib's 5-point model, in image pixels ``(x, y)``:

====  =====================================================================
0     outer corner of the eye on the image's right (the person's left eye)
1     inner corner of that eye
2     outer corner of the eye on the image's left (the person's right eye)
3     inner corner of that eye
4     base of the nose (just under the nose tip)
====  =====================================================================

"The person's left" assumes an un-mirrored image, as a camera sees the person; a client
whose preview is mirrored must send the un-mirrored frame.

An embedding is biometric data: it never appears in a ``repr`` or a message here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

EMBEDDING_SIZE = 128
LANDMARK_COUNT = 5

Point = tuple[float, float]
Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class FaceObservation:
    """One face found in one image.

    ``embedding``: 128 floats from the recognition model; ``landmarks``: the 5 points in
    the order of the module table; ``box``: ``(left, top, right, bottom)`` in pixels of
    the submitted image (after EXIF orientation).
    """

    embedding: tuple[float, ...] = field(repr=False)
    landmarks: tuple[Point, ...] = field(repr=False)
    box: Box

    def __post_init__(self) -> None:
        if len(self.embedding) != EMBEDDING_SIZE:
            raise ValueError(f"an embedding has {EMBEDDING_SIZE} values, not {len(self.embedding)}")
        if len(self.landmarks) != LANDMARK_COUNT:
            raise ValueError(f"expected {LANDMARK_COUNT} landmarks, not {len(self.landmarks)}")
        if len(self.box) != 4:
            raise ValueError("a box is (left, top, right, bottom)")

    @property
    def face_size(self) -> int:
        """The smaller side of the face box, in pixels."""
        left, top, right, bottom = self.box
        return min(right - left, bottom - top)


class FaceEngine(Protocol):
    """Finds exactly one usable face in an image and describes it.

    Implementations refuse with :class:`medpay_kit.errors.DomainError` and one of the
    reasons ``IMAGE_TOO_LARGE``, ``IMAGE_INVALID``, ``NO_FACE``, ``MULTIPLE_FACES``,
    ``FACE_TOO_SMALL``. The call is synchronous and CPU-bound: async callers run it in a
    worker thread.
    """

    def analyse(self, image: bytes) -> FaceObservation: ...


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Euclidean distance between two embeddings of the same length."""
    if len(a) != len(b):
        raise ValueError(f"embeddings differ in length: {len(a)} and {len(b)}")
    return math.dist(a, b)


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """Whether a face matches a reference, with the numbers that decided it."""

    matched: bool
    distance: float
    threshold: float


def decide_match(
    reference_embedding: Sequence[float], observation: FaceObservation, threshold: float
) -> MatchDecision:
    """Match when the embedding distance is at most ``threshold`` (smaller is stricter)."""
    if not threshold > 0:
        raise ValueError("a match threshold is a positive distance")
    d = distance(reference_embedding, observation.embedding)
    return MatchDecision(matched=d <= threshold, distance=d, threshold=threshold)


def _mean(p: Point, q: Point) -> Point:
    return ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)


def estimate_yaw(landmarks: Sequence[Point]) -> float:
    """A signed, unitless head-yaw estimate from the 5 landmarks.

    The offset of the nose base from the midpoint of the two eye centres, measured
    along the line through the eyes (so a tilted head does not read as a turn), divided
    by the distance between the eye centres.

    Sign convention: **positive** when the nose sits toward the image's right, which in
    an un-mirrored image means the person turned their head to **their own left**;
    negative when they turned to their right; about 0 for a frontal face. Not an angle:
    from average face proportions it is roughly half the tangent of the turn (0.15 for
    about 15 degrees), uncalibrated, good for "clearly turned" versus "frontal". The
    5-point nose landmark sits under the nose, so pitch moves it little.
    """
    if len(landmarks) != LANDMARK_COUNT:
        raise ValueError(f"expected {LANDMARK_COUNT} landmarks, not {len(landmarks)}")
    image_right_eye = _mean(landmarks[0], landmarks[1])
    image_left_eye = _mean(landmarks[2], landmarks[3])
    mid = _mean(image_left_eye, image_right_eye)
    axis_x = image_right_eye[0] - image_left_eye[0]
    axis_y = image_right_eye[1] - image_left_eye[1]
    eye_distance = math.hypot(axis_x, axis_y)
    if eye_distance == 0:
        raise ValueError("the eye landmarks coincide")
    nose = landmarks[4]
    along = (nose[0] - mid[0]) * axis_x + (nose[1] - mid[1]) * axis_y
    return along / (eye_distance * eye_distance)
