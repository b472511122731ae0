"""initial: idempotency keys and the served counter

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


def upgrade() -> None:
    create_shared_table(op, idempotency_table)
    op.create_table(
        "served_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_served_counter"),
    )
    op.execute("INSERT INTO served_counter (id, count) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("served_counter")
    op.drop_table("idempotency_keys")
