"""Face photos and the images tests make from them.

The photos live in ``tests/data/faces`` (see its PROVENANCE.md). Helpers here build the
awkward inputs: two faces in one picture, a face too small, a cut JPEG, other formats,
a huge non-image payload, a PNG whose header claims absurd dimensions, and synthetic
head-turn frames for the liveness checks (``turned``, from ``medpay_cli.camera``).
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

from PIL import Image

from medpay_cli.camera import TURN_STRENGTH, turned  # noqa: F401 - re-exported for the tests
from medpay_kit.personal import check_character

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"


def photo(name: str) -> bytes:
    """The bytes of ``tests/data/faces/<name>.jpg`` (``name`` may carry the suffix)."""
    path = FACES / name if name.endswith(".jpg") else FACES / f"{name}.jpg"
    return path.read_bytes()


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def side_by_side(a: bytes, b: bytes) -> bytes:
    """One JPEG with picture ``a`` on the left and ``b`` on the right (same height)."""
    left, right = _open(a), _open(b)
    height = max(left.height, right.height)
    left = left.resize((round(left.width * height / left.height), height))
    right = right.resize((round(right.width * height / right.height), height))
    both = Image.new("RGB", (left.width + right.width, height))
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    return _jpeg(both)


def shrunk(data: bytes, factor: float) -> bytes:
    """The picture scaled by ``factor`` (for faces that are too small)."""
    img = _open(data)
    return _jpeg(img.resize((round(img.width * factor), round(img.height * factor)), Image.LANCZOS))


def reencoded(data: bytes, fmt: str) -> bytes:
    """The picture saved in another format (``"GIF"``, ``"BMP"``, ``"PNG"``, ...)."""
    buf = io.BytesIO()
    _open(data).save(buf, fmt)
    return buf.getvalue()


def truncated(jpeg: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` part of an image file, as a dropped upload would leave it."""
    return jpeg[: int(len(jpeg) * keep)]


def large_payload(size: int) -> bytes:
    """``size`` bytes that start like a JPEG and are not one (a size check must come first)."""
    return b"\xff\xd8\xff\xe0" + bytes(size - 4)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


# ----- identity through the real service ------------------------------------------------------
# Helpers for any test that needs identity: real ID numbers, an enrolled person, a real
# assertion from the counter fallback, and face-auth frames answering a challenge.

def id_number(n: int, region: str = "610103") -> str:
    """A valid 18-character resident ID number (GB 11643 check character), distinct for each
    ``n`` below 10 million: the birth date (from 1950-01-01) and sequence number are made from it."""
    import datetime as _dt

    born = _dt.date(1950, 1, 1) + _dt.timedelta(days=(n // 1000) % 25_000)
    first17 = f"{region}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17)


def random_id_number() -> str:
    import secrets

    return id_number(secrets.randbelow(10_000_000))


def identity_stub(stack, *, token: str | None = None, identity: str = "client"):
    """An IdentityService stub on the stack's identity process."""
    from medpay.identity.v1 import identity_pb2_grpc

    return identity_pb2_grpc.IdentityServiceStub(stack.channel("identity", token=token, identity=identity))


def enrol(stack, photo_name: str = "obama1", *, number: str | None = None, name: str = "张三",
          request_id: str | None = None) -> str:
    """Enrol a person in the stack's identity service as the operator; returns the person id."""
    import uuid

    from medpay.identity.v1 import identity_pb2

    reply = identity_stub(stack, token=stack.operator_token).EnrollPerson(identity_pb2.EnrollPersonRequest(
        request_id=request_id or f"enrol-{uuid.uuid4()}", id_number=number or random_id_number(),
        name=name, reference_photo=photo(photo_name),
        consent=identity_pb2.Consent(given=True, consent_ref="FORM-0001")), timeout=30)
    return reply.person_id


def counter_assertion(stack, person_id: str, *, purpose: str = "CARD_ISSUE", audience: str = "card",
                      device_id: str = "device-1") -> str:
    """A real identity assertion for ``person_id`` issued at the counter (operator fallback).

    ``purpose`` is a FacePurpose name without its prefix (``CARD_ISSUE``, ``CREDIT_AGREEMENT``,
    ``STEP_UP_PAYMENT``); ``audience`` the consuming service (``card``, ``billing``, ``pharmacy``).
    """
    import uuid

    from medpay.common.v1 import insurance_pb2
    from medpay.identity.v1 import identity_pb2

    reply = identity_stub(stack, token=stack.operator_token).ConfirmIdentityAtCounter(
        identity_pb2.ConfirmIdentityAtCounterRequest(
            request_id=f"counter-{uuid.uuid4()}", person_id=person_id,
            purpose=insurance_pb2.FacePurpose.Value(f"FACE_PURPOSE_{purpose}"), device_id=device_id,
            audience=audience, operator_note="ID card checked at desk 1"), timeout=10)
    return reply.assertion


@functools.cache
def head_turns(name: str) -> dict[str, bytes]:
    """``{"frontal", "left", "right"}`` frames of the person in ``name`` (made once per process)."""
    frontal = photo(name)
    return {"frontal": frontal, "left": turned(frontal, "left"), "right": turned(frontal, "right")}


def answer(name: str, actions) -> list[bytes]:
    """Frames answering a challenge: the frontal photo, then one turned frame per action
    (``actions`` are ``LivenessAction`` values of the contract, as StartFaceAuth returns them)."""
    from medpay.identity.v1 import identity_pb2

    frames = head_turns(name)
    words = {identity_pb2.LIVENESS_ACTION_TURN_LEFT: "left", identity_pb2.LIVENESS_ACTION_TURN_RIGHT: "right"}
    return [frames["frontal"], *(frames[words[a]] for a in actions)]


def face_auth(stack, person_id: str, frames_of=None, *, purpose: str = "CARD_ISSUE",
              audience: str = "card", device_id: str = "device-1"):
    """StartFaceAuth + CompleteFaceAuth as the app; returns ``(start reply, complete reply)``.

    ``frames_of(actions) -> list[bytes]`` makes the frames (default: obama1 answering the
    challenge correctly, which matches a person enrolled with obama1, obama2 or obama3).
    """
    import uuid

    from medpay.common.v1 import insurance_pb2
    from medpay.identity.v1 import identity_pb2

    app = identity_stub(stack, token=stack.app_token)
    started = app.StartFaceAuth(identity_pb2.StartFaceAuthRequest(
        request_id=f"start-{uuid.uuid4()}", person_id=person_id,
        purpose=insurance_pb2.FacePurpose.Value(f"FACE_PURPOSE_{purpose}"), device_id=device_id,
        audience=audience), timeout=10)
    frames = (frames_of or (lambda actions: answer("obama1", actions)))(list(started.actions))
    completed = app.CompleteFaceAuth(identity_pb2.CompleteFaceAuthRequest(
        request_id=f"complete-{uuid.uuid4()}", session_id=started.session_id, nonce=started.nonce,
        frames=frames), timeout=30)
    return started, completed
