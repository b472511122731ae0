"""Face-auth through the real service and the real engine: who matches, what liveness
refuses, and how long one face-auth takes. Run with ``-s`` to see the distances.

Frames are synthesised from the test photos by ``support.faces.turned`` (a 2-D warp that
moves the nose, mouth and chin). What the real engine does with them shapes the tests:
turned frames of obama1 stay within 0.5 of references enrolled from obama1, obama2 or
obama3; turned frames of obama2 do not all stay within 0.5 of obama1 (its right turn reads
0.556), so that pairing is shown as the false reject it is, not hidden.
"""

from __future__ import annotations

import statistics
import time

import pytest

from medpay.identity.v1 import identity_pb2 as pb
from support.faces import answer, enrol, face_auth, head_turns, identity_stub, photo, shrunk

pytestmark = pytest.mark.db

OUTCOME = pb.FaceOutcome.Name


@pytest.fixture(scope="module")
def identity(module_stack, tmp_path_factory):
    keyring = tmp_path_factory.mktemp("keys") / "identity.json"
    module_stack.start("identity", keyring_file=str(keyring))
    return module_stack


def frames_of(name):
    return lambda actions: answer(name, actions)


def report(label, completed):
    d = completed.decision
    print(f"\n{label}: {OUTCOME(d.outcome)} distance {d.distance:.3f} threshold {d.threshold} "
          f"liveness {'passed' if d.liveness_passed else 'failed'} ({d.liveness_detail})")
    return d


@pytest.mark.parametrize(("enrolled", "expected_distance"),
                         [("obama1", 0.376), ("obama2", 0.445), ("obama3", 0.476)])
def test_the_same_person_matches_and_gets_an_assertion(identity, enrolled, expected_distance):
    person = enrol(identity, enrolled)
    _, done = face_auth(identity, person, frames_of("obama1"), device_id=f"phone-{enrolled}")
    d = report(f"enrolled {enrolled}, frames of obama1", done)
    assert d.outcome == pb.FACE_OUTCOME_MATCHED and d.matched and d.liveness_passed
    assert d.threshold == 0.5 and d.distance == pytest.approx(expected_distance, abs=0.02)
    assert done.assertion.count(".") == 2 and done.HasField("assertion_expires_at")
    assert done.attempts_remaining == 5 and not done.HasField("locked_until")


@pytest.mark.parametrize(("enrolled", "frames"), [("obama1", "biden"), ("biden", "obama1"),
                                                  ("astronaut", "obama1")])
def test_different_people_are_rejected(identity, enrolled, frames):
    person = enrol(identity, enrolled)
    _, done = face_auth(identity, person, frames_of(frames), device_id=f"phone-{enrolled}-{frames}")
    d = report(f"enrolled {enrolled}, frames of {frames}", done)
    assert d.outcome == pb.FACE_OUTCOME_MISMATCH and not d.matched and not d.liveness_passed
    assert d.distance > 0.7 and not done.assertion and done.attempts_remaining == 4


def test_turned_frames_of_another_photo_can_pass_the_threshold_a_known_false_reject(identity):
    """obama2's frames against obama1's reference: the frontal frame reads ~0.37, the
    synthesised right turn ~0.56 — over 0.5, so this genuine person is refused. The test
    records the engine's behaviour at this operating point rather than hiding it."""
    person = enrol(identity, "obama1")
    _, done = face_auth(identity, person, frames_of("obama2"), device_id="phone-o1-o2")
    d = report("enrolled obama1, frames of obama2", done)
    assert d.outcome == pb.FACE_OUTCOME_MISMATCH
    assert 0.5 < d.distance < 0.6


@pytest.mark.parametrize(("label", "image", "outcome"), [
    ("no face", lambda: photo("no_face"), pb.FACE_OUTCOME_NO_FACE),
    ("two faces", lambda: _two_faces(), pb.FACE_OUTCOME_MULTIPLE_FACES),
    ("face too small", lambda: shrunk(photo("obama1"), 0.5), pb.FACE_OUTCOME_FACE_TOO_SMALL),
])
def test_a_frame_without_exactly_one_usable_face_is_refused_with_its_reason(identity, label, image, outcome):
    person = enrol(identity, "obama1")
    bad = image()
    _, done = face_auth(identity, person, lambda actions: [*answer("obama1", actions)[:-1], bad],
                        device_id=f"phone-{label}")
    d = report(label, done)
    assert d.outcome == outcome and not d.matched and not done.assertion
    assert d.liveness_detail.startswith("frame 2:")


def _two_faces():
    from support.faces import side_by_side

    return side_by_side(photo("obama1"), photo("biden"))


def test_reference_photos_without_exactly_one_face_are_not_enrolled(identity):
    import grpc

    from medpay_kit.client import error_reason

    for image, reason in ((photo("no_face"), "NO_FACE"), (_two_faces(), "MULTIPLE_FACES")):
        with pytest.raises(grpc.RpcError) as err:
            enrol_bytes(identity, image)
        assert error_reason(err.value) == reason


def enrol_bytes(stack, image):
    import uuid

    from support.faces import random_id_number

    return identity_stub(stack, token=stack.operator_token).EnrollPerson(pb.EnrollPersonRequest(
        request_id=str(uuid.uuid4()), id_number=random_id_number(), name="Test Person",
        reference_photo=image, consent=pb.Consent(given=True, consent_ref="F-1")))


# ----- liveness -------------------------------------------------------------------------------


def test_the_turns_in_the_wrong_order_fail_liveness(identity):
    person = enrol(identity, "obama1")
    _, done = face_auth(identity, person, lambda actions: answer("obama1", list(reversed(actions))),
                        device_id="phone-order")
    d = report("turns in the wrong order", done)
    assert d.outcome == pb.FACE_OUTCOME_LIVENESS_FAILED and d.matched and not d.liveness_passed
    assert d.liveness_detail.startswith("no turn to the") and not done.assertion


def test_one_still_photo_repeated_fails_liveness(identity):
    person = enrol(identity, "obama1")
    _, done = face_auth(identity, person, lambda actions: [photo("obama1")] * 3, device_id="phone-still")
    d = report("one photo three times", done)
    assert d.outcome == pb.FACE_OUTCOME_LIVENESS_FAILED
    assert d.liveness_detail == "frames 0 and 1 are the same picture"


def test_a_still_photo_resized_and_reencoded_fails_liveness(identity):
    person = enrol(identity, "obama1")
    stills = [photo("obama1"), shrunk(photo("obama1"), 0.95), shrunk(photo("obama1"), 0.9)]
    _, done = face_auth(identity, person, lambda actions: stills, device_id="phone-copies")
    d = report("one photo resized twice", done)
    assert d.outcome == pb.FACE_OUTCOME_LIVENESS_FAILED and "did not move" in d.liveness_detail


def test_a_frame_of_another_person_in_the_sequence_fails(identity):
    person = enrol(identity, "obama1")
    biden = head_turns("biden")
    mixed = lambda actions: [*answer("obama1", actions)[:2], biden["right"]]  # noqa: E731
    _, done = face_auth(identity, person, mixed, device_id="phone-mixed")
    d = report("third frame is biden", done)
    assert d.outcome == pb.FACE_OUTCOME_MISMATCH and d.liveness_detail == "frame 2 is not the enrolled person"


# ----- how long it takes ---------------------------------------------------------------------


def test_time_per_face_auth(identity):
    person = enrol(identity, "obama1")
    head_turns("obama1")  # frames made before timing
    took = []
    for i in range(5):
        started = time.perf_counter()
        _, done = face_auth(identity, person, frames_of("obama1"), device_id=f"phone-time-{i}")
        took.append(time.perf_counter() - started)
        assert done.decision.outcome == pb.FACE_OUTCOME_MATCHED
    print(f"\nface-auth (StartFaceAuth + CompleteFaceAuth, 3 frames, 1 face worker): "
          f"median {statistics.median(took) * 1000:.0f} ms, "
          f"min {min(took) * 1000:.0f} ms, max {max(took) * 1000:.0f} ms")
    assert statistics.median(took) < 5.0


def test_the_server_answers_other_calls_while_it_analyses_faces(identity):
    """The engine runs in a worker process, so the event loop is free during inference."""
    import threading

    person = enrol(identity, "obama1")
    head_turns("obama1")  # frames made before measuring
    stub = identity_stub(identity, token=identity.app_token)
    idle = []
    for _ in range(10):
        started = time.perf_counter()
        stub.GetSigningKeys(pb.GetSigningKeysRequest())
        idle.append((time.perf_counter() - started) * 1000)
    busy = threading.Event()

    def face_auths():
        for i in range(3):
            face_auth(identity, person, frames_of("obama1"), device_id=f"phone-busy-{i}")
        busy.set()

    worker = threading.Thread(target=face_auths)
    worker.start()
    latencies = []
    while not busy.is_set():
        started = time.perf_counter()
        stub.GetSigningKeys(pb.GetSigningKeysRequest())
        latencies.append(time.perf_counter() - started)
        time.sleep(0.01)
    worker.join()
    ms = sorted(x * 1000 for x in latencies)
    print(f"\nGetSigningKeys idle: median {statistics.median(idle):.1f} ms; during 3 face-auths: "
          f"{len(ms)} calls, median {statistics.median(ms):.1f} ms, p90 {ms[int(len(ms) * 0.9)]:.1f} ms, "
          f"max {ms[-1]:.1f} ms")
    assert len(ms) >= 10
    assert statistics.median(ms) < max(40.0, 3 * statistics.median(idle))
