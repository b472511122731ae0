"""Settings of the identity service (environment prefix ``MEDPAY_IDENTITY_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from medpay_kit.config import MiB, ServiceSettings

#: an assertion never lives longer than this, whatever the configuration says
MAX_ASSERTION_TTL_S = 300


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEDPAY_IDENTITY_", extra="ignore", frozen=True)

    port: int = Field(default=50051, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/identity.db"
    keyring_file: Path = Path("var/keys/identity.json")
    #: frames of a face-auth arrive in one message
    max_message_bytes: int = Field(default=16 * MiB, ge=64 * 1024, le=64 * MiB)

    #: largest Euclidean distance between embeddings that counts as the same person
    #: (dlib ResNet: 0.6 is its authors' operating point; 0.5 is stricter, see the README)
    match_threshold: float = Field(default=0.5, gt=0, le=1.5)
    session_ttl_s: int = Field(default=120, ge=10, le=3600)
    assertion_ttl_s: int = Field(default=120, ge=10, le=MAX_ASSERTION_TTL_S)
    max_failures: int = Field(default=5, ge=1, le=100)
    failure_window_s: int = Field(default=900, ge=1, le=86_400)
    lockout_s: int = Field(default=900, ge=1, le=86_400)

    face_workers: int = Field(default=1, ge=1, le=16)
    max_image_bytes: int = Field(default=4 * MiB, ge=16 * 1024, le=16 * MiB)
    min_face_px: int = Field(default=60, ge=20, le=1000)
