"""The dlib face engine on real photos: who matches, and which images it refuses.

Run with ``-s`` to see the observed distances.
"""

from __future__ import annotations

import io
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from pathlib import Path

import pytest
from PIL import Image

from medpay_identity.adapters.dlib_engine import (
    RECOGNITION_MODEL_FILE,
    SHAPE_PREDICTOR_FILE,
    DlibFaceEngine,
    models_dir,
)
from medpay_identity.domain.face import FaceObservation, decide_match, distance, estimate_yaw
from medpay_kit.errors import DomainError
from support.faces import (
    large_payload,
    photo,
    png_claiming,
    reencoded,
    shrunk,
    side_by_side,
    truncated,
)

THRESHOLD = 0.5
OBAMA = ("obama1", "obama2", "obama3")
PEOPLE = (*OBAMA, "biden", "astronaut")


@pytest.fixture(scope="module")
def engine() -> DlibFaceEngine:
    return DlibFaceEngine()


@pytest.fixture(scope="module")
def seen(engine: DlibFaceEngine) -> dict[str, FaceObservation]:
    """Each photo analysed once."""
    return {name: engine.analyse(photo(name)) for name in PEOPLE}


def refused(engine: DlibFaceEngine, image: bytes) -> DomainError:
    with pytest.raises(DomainError) as caught:
        engine.analyse(image)
    err = caught.value
    assert len(err.message) < 120 and "\\x" not in err.message and "b'" not in err.message
    return err


@pytest.mark.parametrize(("a", "b"), list(combinations(OBAMA, 2)))
def test_the_same_person_matches_across_photos(seen, a, b):
    decision = decide_match(seen[a].embedding, seen[b], THRESHOLD)
    print(f"\ndistance {a}-{b} = {decision.distance:.3f} (same person)")
    assert decision.matched
    assert decision.threshold == THRESHOLD


@pytest.mark.parametrize(
    ("a", "b"), [(o, other) for o in OBAMA for other in ("biden", "astronaut")] + [("biden", "astronaut")]
)
def test_different_people_do_not_match(seen, a, b):
    decision = decide_match(seen[a].embedding, seen[b], THRESHOLD)
    print(f"\ndistance {a}-{b} = {decision.distance:.3f} (different people)")
    assert not decision.matched
    assert decision.distance > THRESHOLD + 0.2


def test_an_observation_has_128_numbers_five_landmarks_and_a_box(seen):
    obs = seen["obama1"]
    assert len(obs.embedding) == 128 and all(isinstance(v, float) for v in obs.embedding)
    left, top, right, bottom = obs.box
    assert 60 <= right - left <= 200 and 60 <= bottom - top <= 200
    for x, y in obs.landmarks:
        assert left - 10 <= x <= right + 10 and top - 10 <= y <= bottom + 10
    assert "embedding" not in repr(obs)


def test_landmarks_come_in_dlib_five_point_order(seen):
    (outer_r, _), (inner_r, _), (outer_l, _), (inner_l, _), (nose_x, nose_y) = seen["obama1"].landmarks
    assert outer_l < inner_l < nose_x < inner_r < outer_r
    assert nose_y > max(y for _, y in seen["obama1"].landmarks[:4])


def test_frontal_photos_read_as_nearly_frontal(seen):
    for name in PEOPLE:
        yaw = estimate_yaw(seen[name].landmarks)
        print(f"\nyaw {name} = {yaw:+.3f}")
        assert abs(yaw) <= 0.15


def test_the_analysis_is_deterministic(engine, seen):
    assert engine.analyse(photo("obama1")).embedding == seen["obama1"].embedding


def test_a_png_is_accepted_like_the_jpeg(engine, seen):
    obs = engine.analyse(reencoded(photo("obama1"), "PNG"))
    assert distance(obs.embedding, seen["obama1"].embedding) < 0.05


def test_the_exif_orientation_is_applied(engine, seen):
    upright = Image.open(io.BytesIO(photo("obama1")))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buf = io.BytesIO()
    upright.rotate(90, expand=True).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    obs = engine.analyse(buf.getvalue())
    assert distance(obs.embedding, seen["obama1"].embedding) < 0.1
    assert obs.box[2] < 320 and obs.box[3] < 400  # boxes are in upright coordinates


def test_a_picture_without_a_face_is_refused(engine):
    assert refused(engine, photo("no_face")).reason == "NO_FACE"


def test_two_faces_are_refused(engine):
    err = refused(engine, side_by_side(photo("obama1"), photo("biden")))
    assert err.reason == "MULTIPLE_FACES"
    assert err.metadata == {"faces": "2"}


def test_a_face_too_small_is_refused(engine):
    err = refused(engine, shrunk(photo("obama1"), 0.5))
    assert err.reason == "FACE_TOO_SMALL"
    assert int(err.metadata["face_px"]) < 60 and err.metadata["min_face_px"] == "60"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: truncated(photo("obama1")), id="jpeg-cut-in-half"),
        pytest.param(lambda: truncated(photo("obama1"), 0.98), id="jpeg-missing-its-end"),
        pytest.param(lambda: bytes(range(256)) * 40, id="random-bytes"),
        pytest.param(lambda: b"", id="empty"),
        pytest.param(lambda: reencoded(photo("obama1"), "GIF"), id="gif"),
        pytest.param(lambda: reencoded(photo("obama1"), "BMP"), id="bmp"),
        pytest.param(lambda: reencoded(photo("obama1"), "WEBP"), id="webp"),
        pytest.param(lambda: png_claiming(320, 400), id="png-header-without-pixels"),
    ],
)
def test_what_is_not_a_whole_jpeg_or_png_is_refused(engine, make):
    assert refused(engine, make()).reason == "IMAGE_INVALID"


def test_an_oversize_payload_is_refused_before_decoding(engine):
    err = refused(engine, large_payload(4 * 1024 * 1024 + 1))
    assert err.reason == "IMAGE_TOO_LARGE"
    assert err.metadata["max_bytes"] == str(4 * 1024 * 1024)


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8_000, 8_000)])
def test_absurd_pixel_dimensions_are_refused_from_the_header(engine, width, height):
    assert refused(engine, png_claiming(width, height)).reason == "IMAGE_TOO_LARGE"


@pytest.fixture(scope="module")
def strict() -> DlibFaceEngine:
    return DlibFaceEngine(max_bytes=200_000, min_face_px=120, max_pixels=500_000, max_analysis_side=400)


class TestConfiguredLimits:
    """Limits are configuration: a stricter engine refuses what the default accepts."""

    def test_min_face_size(self, strict, seen):
        assert seen["obama1"].face_size < 120
        assert refused(strict, photo("obama1")).reason == "FACE_TOO_SMALL"
        assert strict.analyse(photo("obama2")).face_size >= 120

    def test_max_bytes(self, strict):
        assert refused(strict, large_payload(200_001)).reason == "IMAGE_TOO_LARGE"

    def test_max_pixels(self, strict):
        assert refused(strict, shrunk(photo("obama2"), 2.5)).reason == "IMAGE_TOO_LARGE"

    def test_big_images_are_shrunk_and_boxes_reported_in_submitted_pixels(self, strict, seen):
        obs = strict.analyse(shrunk(photo("obama2"), 1.5))  # 480 x 600, analysed at 320 x 400
        expected = [round(v * 1.5) for v in seen["obama2"].box]
        assert all(abs(a - b) <= 12 for a, b in zip(obs.box, expected, strict=True))
        assert distance(obs.embedding, seen["obama2"].embedding) < 0.1


def test_concurrent_calls_give_the_sequential_answers(engine, seen):
    names = list(PEOPLE) * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: engine.analyse(photo(n)), names))
    for name, obs in zip(names, results, strict=True):
        assert obs.embedding == seen[name].embedding


def test_models_are_found_on_disk_without_importing_their_package():
    folder = models_dir()
    assert (folder / SHAPE_PREDICTOR_FILE).is_file()
    assert (folder / RECOGNITION_MODEL_FILE).is_file()
    assert "face_recognition_models" not in sys.modules


def test_a_missing_model_folder_fails_at_construction(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        DlibFaceEngine(tmp_path)
