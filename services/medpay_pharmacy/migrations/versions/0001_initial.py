"""initial: pharmacies, terminals, catalogue, payment contexts, settlements, refunds,
channel payments, and the kit's idempotency keys and sandbox channel transactions

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from medpay_kit.idempotency import idempotency_table
from medpay_kit.migrations import create_shared_table
from medpay_kit.payment_channel import channel_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _str(name: str, length: int, **kw) -> sa.Column:  # type: ignore[no-untyped-def]
    return sa.Column(name, sa.String(length=length), nullable=kw.pop("nullable", False), **kw)


def _fen(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    create_shared_table(op, idempotency_table)
    create_shared_table(op, channel_table)
    op.create_table(
        "pharmacies",
        _str("institution_code", 12), _str("name", 200),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("outpatient_pooling", sa.Boolean(), nullable=False),
        _str("region_code", 6),
        sa.Column("registered_at", TS, nullable=False), sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("institution_code", name="pk_pharmacies"),
    )
    op.create_table(
        "terminals",
        _str("terminal_id", 40), _str("institution_code", 12), _str("label", 100),
        _str("secret_hash", 64), sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["institution_code"], ["pharmacies.institution_code"],
                                name="fk_terminals_institution_code_pharmacies"),
        sa.PrimaryKeyConstraint("terminal_id", name="pk_terminals"),
    )
    op.create_index("ix_terminals_institution_code", "terminals", ["institution_code"])
    op.create_table(
        "catalogue_items",
        _str("institution_code", 12), _str("item_code", 64), _str("name", 200),
        _str("spec", 200), _str("unit_price", 24), _str("price_cap", 24), _str("item_class", 1),
        sa.Column("pre_self_pay_ratio_bp", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["institution_code"], ["pharmacies.institution_code"],
                                name="fk_catalogue_items_institution_code_pharmacies"),
        sa.PrimaryKeyConstraint("institution_code", "item_code", name="pk_catalogue_items"),
    )
    op.create_table(
        "payment_contexts",
        _str("payment_context_id", 128), _str("institution_code", 12), _str("masked_name", 64),
        sa.Column("insurance_type", sa.Integer(), nullable=False),
        sa.Column("expires_at", TS, nullable=False), sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("payment_context_id", name="pk_payment_contexts"),
    )
    op.create_table(
        "settlements",
        _str("settlement_id", 32), _str("institution_code", 12), _str("terminal_id", 40),
        _str("request_id", 128), sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        _str("status", 24), _str("step", 16), _str("payment_context_id", 128),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("pooling", sa.Boolean(), nullable=False),
        sa.Column("use_personal_account", sa.Boolean(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        _str("masked_name", 64), sa.Column("insurance_type", sa.Integer(), nullable=False),
        _str("hold_id", 64), sa.Column("split", sa.LargeBinary(), nullable=True),
        _fen("total_fen"), _fen("fund_pay_fen"), _fen("account_pay_fen"), _fen("cash_pay_fen"),
        _str("channel_transaction_id", 64), _str("issuer_reference", 64),
        _str("failure_reason", 48), _str("failure_message", 200), _str("business_date", 10),
        sa.Column("created_at", TS, nullable=False), sa.Column("settled_at", TS, nullable=True),
        _str("lease_owner", 32), sa.Column("lease_until", TS, nullable=False),
        sa.PrimaryKeyConstraint("settlement_id", name="pk_settlements"),
        sa.UniqueConstraint("institution_code", "request_id",
                            name="uq_settlements_institution_code_request_id"),
    )
    op.create_index("ix_settlements_pharmacy_created", "settlements",
                    ["institution_code", "created_at"])
    op.create_index("ix_settlements_status_lease", "settlements", ["status", "lease_until"])
    op.create_table(
        "settlement_refunds",
        _str("refund_id", 32), _str("settlement_id", 32), _str("institution_code", 12),
        _str("request_id", 128), sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        _str("purpose", 10), _str("kind", 4), sa.Column("line_nos", sa.JSON(), nullable=False),
        _str("status", 10), _str("step", 16), sa.Column("refunded", sa.LargeBinary(), nullable=True),
        _fen("total_fen"), _fen("fund_pay_fen"), _fen("account_pay_fen"), _fen("cash_pay_fen"),
        _str("issuer_refund_id", 64), _str("channel_transaction_id", 64),
        _str("failure_reason", 48), _str("failure_message", 200), _str("business_date", 10),
        sa.Column("created_at", TS, nullable=False), sa.Column("refunded_at", TS, nullable=True),
        _str("lease_owner", 32), sa.Column("lease_until", TS, nullable=False),
        sa.ForeignKeyConstraint(["settlement_id"], ["settlements.settlement_id"],
                                name="fk_settlement_refunds_settlement_id_settlements"),
        sa.PrimaryKeyConstraint("refund_id", name="pk_settlement_refunds"),
        sa.UniqueConstraint("institution_code", "request_id",
                            name="uq_settlement_refunds_institution_code_request_id"),
    )
    op.create_index("ix_settlement_refunds_settlement_id", "settlement_refunds", ["settlement_id"])
    op.create_index("ix_settlement_refunds_status_lease", "settlement_refunds",
                    ["status", "lease_until"])
    op.create_index("ix_settlement_refunds_pharmacy_date", "settlement_refunds",
                    ["institution_code", "business_date"])
    op.create_table(
        "channel_payments",
        _str("transaction_id", 64), _str("channel", 16), _str("channel_reference", 64),
        _str("kind", 8), _str("status", 10), _fen("amount_fen"), _str("settlement_id", 32),
        _str("refund_id", 32), _str("institution_code", 12), _str("business_date", 10),
        sa.Column("created_at", TS, nullable=False), sa.Column("completed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("transaction_id", name="pk_channel_payments"),
    )
    op.create_index("ix_channel_payments_settlement_id", "channel_payments", ["settlement_id"])
    op.create_index("ix_channel_payments_created", "channel_payments", ["created_at"])


def downgrade() -> None:
    for table in ("channel_payments", "settlement_refunds", "settlements", "payment_contexts",
                  "catalogue_items", "terminals", "pharmacies", "channel_transactions",
                  "idempotency_keys"):
        op.drop_table(table)
