"""initial: persons, face templates, sessions, failures, lockouts, assertions, signing keys,
the append-only audit trail and idempotency keys

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from medpay_kit.idempotency import idempotency_table
from medpay_kit.migrations import create_shared_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_shared_table(op, idempotency_table)
    op.create_table(
        "persons",
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("consent_ref", sa.String(64), nullable=False),
        sa.Column("consent_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_persons"),
        sa.UniqueConstraint("id_hash", name="uq_persons_id_hash"),
    )
    op.create_table(
        "face_templates",
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("template_enc", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("engine", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("enrolled_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.person_id"],
                                name="fk_face_templates_person_id_persons"),
        sa.PrimaryKeyConstraint("person_id", name="pk_face_templates"),
    )
    op.create_table(
        "face_sessions",
        sa.Column("session_id", sa.String(40), nullable=False),
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("audience", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("actions", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.person_id"],
                                name="fk_face_sessions_person_id_persons"),
        sa.PrimaryKeyConstraint("session_id", name="pk_face_sessions"),
    )
    op.create_index("ix_face_sessions_person_id", "face_sessions", ["person_id"])
    op.create_table(
        "face_failures",
        sa.Column("failure_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("session_id", sa.String(40), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("failure_id", name="pk_face_failures"),
    )
    op.create_index("ix_face_failures_person_at", "face_failures", ["person_id", "at"])
    op.create_index("ix_face_failures_device_at", "face_failures", ["device_id", "at"])
    op.create_table(
        "lockouts",
        sa.Column("subject", sa.String(136), nullable=False),
        sa.Column("locked_until", TS, nullable=False),
        sa.PrimaryKeyConstraint("subject", name="pk_lockouts"),
    )
    op.create_table(
        "assertions",
        sa.Column("assertion_id", sa.String(40), nullable=False),
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("audience", sa.String(32), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("consumed_at", TS, nullable=True),
        sa.Column("consumed_by", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.person_id"],
                                name="fk_assertions_person_id_persons"),
        sa.PrimaryKeyConstraint("assertion_id", name="pk_assertions"),
    )
    op.create_index("ix_assertions_person_id", "assertions", ["person_id"])
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("private_key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_signing_keys"),
    )
    op.create_index("uq_signing_keys_one_active", "signing_keys", ["active"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("session_id", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(48), nullable=False),
        sa.Column("distance", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        sa.UniqueConstraint("event_id", name="uq_audit_events_event_id"),
    )
    op.create_index("ix_audit_events_person_id", "audit_events", ["person_id"])
    _make_audit_append_only()


def _make_audit_append_only() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )


def downgrade() -> None:
    for table in ("audit_events", "signing_keys", "assertions", "lockouts", "face_failures",
                  "face_sessions", "face_templates", "persons", "idempotency_keys"):
        op.drop_table(table)
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
