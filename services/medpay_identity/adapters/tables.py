"""The identity database: persons apart from their face templates, sessions, failures,
lockouts, issued assertions, signing keys and the append-only audit trail.

Personal data is never stored in the clear: a person row holds a keyed hash of the ID
number (for look-up) and keyring-encrypted copies of the ID number and the name; the face
template (an embedding, never the photo) lives in its own table, encrypted with a key id.
Timestamps are timezone-aware UTC (:class:`UtcDateTime` also on SQLite).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    text,
)

from medpay_kit.db import UtcDateTime, new_metadata
from medpay_kit.idempotency import idempotency_table

metadata: MetaData = new_metadata()
idempotency = idempotency_table(metadata)

ID = 40  # length of opaque ids ("per_" + 32 hex and the like)
DEVICE = 128

persons = Table(
    "persons", metadata,
    Column("person_id", String(ID), primary_key=True),
    Column("id_hash", String(64), nullable=False, unique=True),
    Column("id_number_enc", LargeBinary, nullable=False),
    Column("name_enc", LargeBinary, nullable=False),
    Column("consent_ref", String(64), nullable=False),
    Column("consent_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

face_templates = Table(
    "face_templates", metadata,
    Column("person_id", String(ID), ForeignKey("persons.person_id"), primary_key=True),
    Column("template_enc", LargeBinary, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("engine", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("enrolled_at", UtcDateTime, nullable=False),
)

face_sessions = Table(
    "face_sessions", metadata,
    Column("session_id", String(ID), primary_key=True),
    # no foreign key: a session for someone not enrolled looks and behaves like any other
    # (StartFaceAuth is no enrolment oracle) and can never succeed
    Column("person_id", String(ID), nullable=False, index=True),
    Column("purpose", String(32), nullable=False),
    Column("device_id", String(DEVICE), nullable=False),
    Column("audience", String(32), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("actions", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("outcome", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
    # the completion running now (its idempotency key's lock id) and since when: its twins
    # wait for its decision instead of analysing the frames again
    Column("claim_key", BigInteger),
    Column("claimed_at", UtcDateTime),
)

face_failures = Table(
    "face_failures", metadata,
    Column("failure_id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", String(ID), nullable=False),
    Column("device_id", String(DEVICE), nullable=False),
    Column("session_id", String(ID), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_face_failures_person_at", "person_id", "at"),
    Index("ix_face_failures_device_at", "device_id", "at"),
)

#: one row per subject ("person:<id>" or "device:<id>") that was ever locked out
lockouts = Table(
    "lockouts", metadata,
    Column("subject", String(DEVICE + 8), primary_key=True),
    Column("locked_until", UtcDateTime, nullable=False),
)

assertions = Table(
    "assertions", metadata,
    Column("assertion_id", String(ID), primary_key=True),
    Column("person_id", String(ID), ForeignKey("persons.person_id"), nullable=False, index=True),
    Column("purpose", String(32), nullable=False),
    Column("audience", String(32), nullable=False),
    Column("device_id", String(DEVICE), nullable=False),
    Column("method", String(16), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("consumed_at", UtcDateTime),
    Column("consumed_by", String(32)),
)

signing_keys = Table(
    "signing_keys", metadata,
    Column("key_id", String(32), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("private_key_enc", LargeBinary, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),
    # at most one active key, even when two replicas start at once
    Index("uq_signing_keys_one_active", "active", unique=True,
          sqlite_where=text("active"), postgresql_where=text("active")),
)

#: append-only (database triggers refuse UPDATE and DELETE); no personal or biometric data
audit_events = Table(
    "audit_events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(ID), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("person_id", String(ID), nullable=False, index=True),
    Column("session_id", String(ID), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("device_id", String(DEVICE), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("reason", String(48), nullable=False),
    Column("distance", Float),
    Column("threshold", Float),
    Column("actor", String(64), nullable=False),
    Column("detail", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
