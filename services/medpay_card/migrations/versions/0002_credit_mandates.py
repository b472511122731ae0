"""credit mandates: which service may settle by card id at which merchant, and the
CREDIT_AGREEMENT assertion that proves the holder agreed

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'credit_mandates',
        sa.Column('mandate_id', sa.String(length=40), nullable=False),
        sa.Column('caller', sa.String(length=160), nullable=False),
        sa.Column('card_id', sa.String(length=40), nullable=False),
        sa.Column('merchant_id', sa.String(length=32), nullable=False),
        sa.Column('live_key', sa.String(length=240), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('assertion_id', sa.String(length=64), nullable=False),
        sa.Column('assertion_method', sa.String(length=16), nullable=False),
        sa.Column('agreement_reference', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_reason', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['card_id'], ['cards.card_id'],
                                name=op.f('fk_credit_mandates_card_id_cards')),
        sa.PrimaryKeyConstraint('mandate_id', name=op.f('pk_credit_mandates')),
        sa.UniqueConstraint('assertion_id', name=op.f('uq_credit_mandates_assertion_id')),
        sa.UniqueConstraint('live_key', name=op.f('uq_credit_mandates_live_key')),
    )


def downgrade() -> None:
    op.drop_table('credit_mandates')
