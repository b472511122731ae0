"""StartFaceAuth and CompleteFaceAuth do not tell an enrolled ID number from one nobody is
enrolled under: the same shape of session, the same status, attempts and lockout, and a
completion that is an ordinary failed decision. A session for nobody can never succeed.
Real identity process."""

from __future__ import annotations

import uuid

import grpc
import pytest

from medpay.common.v1 import insurance_pb2
from medpay.identity.v1 import identity_pb2 as pb
from medpay_kit.client import error_info
from support.faces import answer, enrol, identity_stub, photo, random_id_number

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def identity(module_stack, tmp_path_factory):
    keyring = tmp_path_factory.mktemp("keys") / "identity.json"
    module_stack.start("identity", keyring_file=str(keyring))
    return module_stack


def app(stack):
    return identity_stub(stack, token=stack.app_token)


def start(stack, device: str, **subject) -> pb.StartFaceAuthResponse:
    return app(stack).StartFaceAuth(pb.StartFaceAuthRequest(
        request_id=str(uuid.uuid4()), purpose=insurance_pb2.FACE_PURPOSE_CARD_ISSUE,
        device_id=device, audience="card", **subject))


def complete(stack, started, frames) -> pb.CompleteFaceAuthResponse:
    return app(stack).CompleteFaceAuth(pb.CompleteFaceAuthRequest(
        request_id=str(uuid.uuid4()), session_id=started.session_id, nonce=started.nonce,
        frames=frames))


def shape(started: pb.StartFaceAuthResponse) -> tuple:
    """What may differ between two sessions only by chance is left out (ids, nonce, order)."""
    return (started.session_id[:4], len(started.session_id), len(started.nonce),
            started.frames_expected, started.attempts_remaining, len(started.actions),
            started.HasField("expires_at"))


def refused(call) -> tuple:
    with pytest.raises(grpc.RpcError) as err:
        call()
    info = error_info(err.value)
    meta = {k: v for k, v in info.metadata.items() if k not in ("lockedUntil", "retryAfterSeconds")}
    return err.value.code(), err.value.details(), info.reason, tuple(sorted(meta.items()))


def test_an_unenrolled_id_number_gets_the_same_session_and_decisions(identity):
    enrolled = random_id_number()
    enrol(identity, "obama1", number=enrolled)
    nobody = random_id_number()
    for number in (enrolled, nobody):
        assert start(identity, "oracle-a", id_number=number).attempts_remaining == 5
    sessions = {n: start(identity, f"oracle-{n[-4:]}", id_number=n) for n in (enrolled, nobody)}
    assert shape(sessions[enrolled]) == shape(sessions[nobody])

    # a stranger's face: both an ordinary MISMATCH at an impostor's distance, one attempt gone
    decisions = {n: complete(identity, s, [photo("biden")] * 3)
                 for n, s in sessions.items()}
    for done in decisions.values():
        assert done.decision.outcome == pb.FACE_OUTCOME_MISMATCH and not done.assertion
        assert 0.6 < done.decision.distance < 1.2 and done.decision.threshold == 0.5
        assert done.attempts_remaining == 4
    # no face at all: the same refusal outcome for both
    for number in (enrolled, nobody):
        again = start(identity, f"oracle-nf-{number[-4:]}", id_number=number)
        done = complete(identity, again, [photo("no_face")] * 3)
        assert (done.decision.outcome, done.attempts_remaining) == (pb.FACE_OUTCOME_NO_FACE, 3)


def test_a_session_for_nobody_never_succeeds(identity):
    nobody = random_id_number()
    started = start(identity, "oracle-never", id_number=nobody)
    done = complete(identity, started, answer("obama1", started.actions))
    assert done.decision.outcome == pb.FACE_OUTCOME_MISMATCH and not done.assertion


def test_both_lock_out_alike(identity):
    enrolled = random_id_number()
    enrol(identity, "obama1", number=enrolled)
    nobody = random_id_number()
    answers = set()
    for number in (enrolled, nobody):
        for i in range(5):
            started = start(identity, f"lock-{number[-6:]}-{i}", id_number=number)
            complete(identity, started, [photo("no_face")] * 3)
        answers.add(refused(lambda number=number: start(identity, "lock-new", id_number=number)))
    assert len(answers) == 1 and next(iter(answers))[2] == "LOCKED_OUT", answers
