"""face_sessions.claim_key / claimed_at: one completion of a session runs at a time, so a
twin of it waits for its decision instead of analysing the frames again

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("face_sessions") as batch:
        batch.add_column(sa.Column("claim_key", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("face_sessions") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("claim_key")
