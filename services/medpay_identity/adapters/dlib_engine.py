"""The face engine on dlib: HOG detection, 5-point landmarks, ResNet embedding.

Pipeline of :meth:`DlibFaceEngine.analyse`:

1. check the byte size (``IMAGE_TOO_LARGE``), decode with Pillow as JPEG or PNG only,
   refusing anything else, truncated or undecodable (``IMAGE_INVALID``) and absurd pixel
   dimensions (``IMAGE_TOO_LARGE``, checked from the header before decoding); apply the
   EXIF orientation; shrink images larger than ``max_analysis_side`` to that side;
2. dlib's HOG frontal face detector, upsampling once when the image is small (so faces
   down to about 40 px are seen); exactly one face (``NO_FACE``, ``MULTIPLE_FACES``) of
   at least ``min_face_px`` pixels in the submitted image (``FACE_TOO_SMALL``);
3. the 5-point shape predictor, an aligned 150 px face chip (padding 0.25) and the
   128-d descriptor of dlib's ResNet recognition model.

Models come from the ``face_recognition_models`` distribution (found on disk, never
imported: its ``__init__`` needs ``pkg_resources``) and are loaded once, when the engine
is built by the composition root. Nothing is downloaded. The 68-point model is never used.

dlib's models keep scratch state while they run, so one lock serialises the dlib part of
each call; decoding happens outside it. Callers on an event loop use a worker thread, but
note what was measured with dlib-bin 20.0: the detector releases the GIL, the descriptor
(about 90 ms of a ~130 ms call on a 400 px photo) does not, so the loop stalls for that
long per call. The service therefore runs it in a process pool
(:mod:`medpay_identity.adapters.face_pool`).
"""

from __future__ import annotations

import importlib.util
import io
import threading
from pathlib import Path

import dlib
import numpy as np
from PIL import Image, ImageFile, ImageOps

from medpay_identity.domain.face import FaceObservation
from medpay_kit.errors import DomainError

MIB = 1024 * 1024
SHAPE_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
RECOGNITION_MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150
CHIP_PADDING = 0.25

#: Pillow plugins tried when opening; MPO is the multi-picture flavour of JPEG phones write.
_FORMATS = ("JPEG", "PNG")
_ACCEPTED = frozenset({"JPEG", "MPO", "PNG"})


def models_dir() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` (not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None:
        raise FileNotFoundError("the face_recognition_models distribution is not installed")
    roots = list(spec.submodule_search_locations or [])
    if spec.origin:
        roots.append(str(Path(spec.origin).parent))
    for root in roots:
        folder = Path(root) / "models"
        if folder.is_dir():
            return folder
    raise FileNotFoundError("face_recognition_models has no models folder")


class DlibFaceEngine:
    """A :class:`~medpay_identity.domain.face.FaceEngine` on dlib; build once per process.

    ``max_bytes``: largest accepted image; ``min_face_px``: smallest face side in pixels
    of the submitted image; ``max_pixels``: largest width x height accepted;
    ``max_analysis_side``: larger images are shrunk to this longest side before detection
    (a face that ends up under ~80 px there reads as ``NO_FACE``);
    ``upsample_max_side``: images whose longest side is at most this are upsampled once
    for detection.
    """

    def __init__(
        self,
        models_dir: Path | str | None = None,
        *,
        max_bytes: int = 4 * MIB,
        min_face_px: int = 60,
        max_pixels: int = 40_000_000,
        max_analysis_side: int = 1600,
        upsample_max_side: int = 800,
    ) -> None:
        folder = Path(models_dir) if models_dir is not None else _default_models_dir()
        for name in (SHAPE_PREDICTOR_FILE, RECOGNITION_MODEL_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"face model {name} not found in {folder}")
        if min(max_bytes, min_face_px, max_pixels, max_analysis_side) <= 0:
            raise ValueError("engine limits must be positive")
        ImageFile.LOAD_TRUNCATED_IMAGES = False  # process-wide; a cut JPEG must fail
        self.max_bytes = max_bytes
        self.min_face_px = min_face_px
        self.max_pixels = max_pixels
        self.max_analysis_side = max_analysis_side
        self.upsample_max_side = upsample_max_side
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(folder / SHAPE_PREDICTOR_FILE))
        self._encoder = dlib.face_recognition_model_v1(str(folder / RECOGNITION_MODEL_FILE))
        self._lock = threading.Lock()

    def analyse(self, image: bytes) -> FaceObservation:
        """Describe the one face in ``image`` or refuse with a :class:`DomainError`."""
        pixels, scale = self._decode(image)
        upsample = 1 if max(pixels.shape[:2]) <= self.upsample_max_side else 0
        with self._lock:
            faces = self._detector(pixels, upsample)
            if len(faces) == 0:
                raise DomainError("NO_FACE", "no face was found in the image")
            if len(faces) > 1:
                raise DomainError(
                    "MULTIPLE_FACES",
                    f"{len(faces)} faces were found; the image must show exactly one",
                    faces=len(faces),
                )
            face = faces[0]
            size = min(face.width(), face.height()) * scale
            if size < self.min_face_px:
                raise DomainError(
                    "FACE_TOO_SMALL",
                    f"the face is about {size:.0f} px; at least {self.min_face_px} px is needed",
                    face_px=round(size),
                    min_face_px=self.min_face_px,
                )
            shape = self._predictor(pixels, face)
            chip = dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
            descriptor = self._encoder.compute_face_descriptor(chip)
        height, width = pixels.shape[:2]
        return FaceObservation(
            embedding=tuple(float(v) for v in descriptor),
            landmarks=tuple((p.x * scale, p.y * scale) for p in shape.parts()),
            box=(
                round(max(face.left(), 0) * scale),
                round(max(face.top(), 0) * scale),
                round(min(face.right(), width - 1) * scale),
                round(min(face.bottom(), height - 1) * scale),
            ),
        )

    def warm_up(self) -> None:
        """Run each model once on a blank picture, so the first real call is not the slow one."""
        blank = np.zeros((CHIP_SIZE * 2, CHIP_SIZE * 2, 3), dtype=np.uint8)
        with self._lock:
            self._detector(blank, 0)
            shape = self._predictor(blank, dlib.rectangle(50, 50, 250, 250))
            chip = dlib.get_face_chip(blank, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
            self._encoder.compute_face_descriptor(chip)

    def _decode(self, data: bytes) -> tuple[np.ndarray, float]:
        """RGB pixels ready for detection, and the factor back to submitted-image pixels."""
        if len(data) > self.max_bytes:
            raise DomainError(
                "IMAGE_TOO_LARGE",
                f"the image is {len(data)} bytes; the limit is {self.max_bytes}",
                size_bytes=len(data),
                max_bytes=self.max_bytes,
            )
        try:
            with Image.open(io.BytesIO(data), formats=_FORMATS) as img:
                if img.format not in _ACCEPTED:
                    raise _invalid()
                submitted_side = self._check_dimensions(*img.size)
                img.draft("RGB", (self.max_analysis_side, self.max_analysis_side))
                img.load()
                upright = ImageOps.exif_transpose(img).convert("RGB")
        except DomainError:
            raise
        except Image.DecompressionBombError:
            raise _absurd(self.max_pixels) from None
        except Exception as exc:  # untrusted bytes: any decoder failure is a bad image
            raise _invalid() from exc
        if max(upright.size) > self.max_analysis_side:
            upright.thumbnail((self.max_analysis_side, self.max_analysis_side), Image.LANCZOS)
        return np.asarray(upright, dtype=np.uint8), submitted_side / max(upright.size)

    def _check_dimensions(self, width: int, height: int) -> int:
        """Refuse absurd dimensions from the header; return the longest side."""
        if width <= 0 or height <= 0:
            raise _invalid()
        if width * height > self.max_pixels:
            raise _absurd(self.max_pixels)
        return max(width, height)


def _default_models_dir() -> Path:
    return models_dir()


def _invalid() -> DomainError:
    return DomainError("IMAGE_INVALID", "the image is not a complete JPEG or PNG")


def _absurd(max_pixels: int) -> DomainError:
    return DomainError(
        "IMAGE_TOO_LARGE",
        f"the image has too many pixels; the limit is {max_pixels}",
        max_pixels=max_pixels,
    )
