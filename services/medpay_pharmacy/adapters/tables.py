"""The pharmacy database: pharmacies, terminals, catalogue, settlements, refunds, channel records.

Money columns are integer fen. A settlement row is written (PENDING) before any peer is
called and carries each step's outcome; ``lease_owner``/``lease_until`` say who drives it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from medpay_kit.db import new_metadata
from medpay_kit.idempotency import idempotency_table
from medpay_kit.payment_channel import channel_table

metadata: MetaData = new_metadata()
idempotency = idempotency_table(metadata)
sandbox_channel = channel_table(metadata)

TS = DateTime(timezone=True)

pharmacies = Table(
    "pharmacies", metadata,
    Column("institution_code", String(12), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("level", Integer, nullable=False),
    Column("outpatient_pooling", Boolean, nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("registered_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

terminals = Table(
    "terminals", metadata,
    Column("terminal_id", String(40), primary_key=True),
    Column("institution_code", String(12), ForeignKey("pharmacies.institution_code"),
           nullable=False, index=True),
    Column("label", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
)

catalogue_items = Table(
    "catalogue_items", metadata,
    Column("institution_code", String(12), ForeignKey("pharmacies.institution_code"),
           primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("spec", String(200), nullable=False),
    Column("unit_price", String(24), nullable=False),
    Column("price_cap", String(24), nullable=False),
    Column("item_class", String(1), nullable=False),
    Column("pre_self_pay_ratio_bp", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
)

payment_contexts = Table(
    "payment_contexts", metadata,
    Column("payment_context_id", String(128), primary_key=True),
    Column("institution_code", String(12), nullable=False),
    Column("masked_name", String(64), nullable=False),
    Column("insurance_type", Integer, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("created_at", TS, nullable=False),
)

settlements = Table(
    "settlements", metadata,
    Column("settlement_id", String(32), primary_key=True),
    Column("institution_code", String(12), nullable=False),
    Column("terminal_id", String(40), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("status", String(24), nullable=False),
    Column("step", String(16), nullable=False),
    Column("payment_context_id", String(128), nullable=False),
    Column("level", Integer, nullable=False),
    Column("pooling", Boolean, nullable=False),
    Column("use_personal_account", Boolean, nullable=False),
    Column("lines", JSON, nullable=False),
    Column("masked_name", String(64), nullable=False),
    Column("insurance_type", Integer, nullable=False),
    Column("hold_id", String(64), nullable=False),
    Column("split", LargeBinary, nullable=True),
    Column("total_fen", BigInteger, nullable=False),
    Column("fund_pay_fen", BigInteger, nullable=False),
    Column("account_pay_fen", BigInteger, nullable=False),
    Column("cash_pay_fen", BigInteger, nullable=False),
    Column("channel_transaction_id", String(64), nullable=False),
    Column("issuer_reference", String(64), nullable=False),
    Column("failure_reason", String(48), nullable=False),
    Column("failure_message", String(200), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("settled_at", TS, nullable=True),
    Column("lease_owner", String(32), nullable=False),
    Column("lease_until", TS, nullable=False),
    UniqueConstraint("institution_code", "request_id"),
    Index("ix_settlements_pharmacy_created", "institution_code", "created_at"),
    Index("ix_settlements_status_lease", "status", "lease_until"),
)

refunds = Table(
    "settlement_refunds", metadata,
    Column("refund_id", String(32), primary_key=True),
    Column("settlement_id", String(32), ForeignKey("settlements.settlement_id"),
           nullable=False, index=True),
    Column("institution_code", String(12), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("purpose", String(10), nullable=False),  # REFUND, CANCEL, REVERSE
    Column("kind", String(4), nullable=False),  # ALL, CASH, HI
    Column("line_nos", JSON, nullable=False),
    Column("status", String(10), nullable=False),  # PENDING, COMPLETED, FAILED
    Column("step", String(16), nullable=False),  # INTENT, ISSUER_DONE, DONE
    Column("refunded", LargeBinary, nullable=True),
    Column("total_fen", BigInteger, nullable=False),
    Column("fund_pay_fen", BigInteger, nullable=False),
    Column("account_pay_fen", BigInteger, nullable=False),
    Column("cash_pay_fen", BigInteger, nullable=False),
    Column("issuer_refund_id", String(64), nullable=False),
    Column("channel_transaction_id", String(64), nullable=False),
    Column("failure_reason", String(48), nullable=False),
    Column("failure_message", String(200), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("refunded_at", TS, nullable=True),
    Column("lease_owner", String(32), nullable=False),
    Column("lease_until", TS, nullable=False),
    UniqueConstraint("institution_code", "request_id"),
    Index("ix_settlement_refunds_status_lease", "status", "lease_until"),
    Index("ix_settlement_refunds_pharmacy_date", "institution_code", "business_date"),
)

channel_payments = Table(
    "channel_payments", metadata,
    Column("transaction_id", String(64), primary_key=True),  # the reference sent to the channel
    Column("channel", String(16), nullable=False),
    Column("channel_reference", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # CHARGE, REFUND
    Column("status", String(10), nullable=False),  # PENDING, SUCCEEDED, DECLINED, TIMED_OUT
    Column("amount_fen", BigInteger, nullable=False),
    Column("settlement_id", String(32), nullable=False, index=True),
    Column("refund_id", String(32), nullable=False),
    Column("institution_code", String(12), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("completed_at", TS, nullable=True),
    Index("ix_channel_payments_created", "created_at"),
)
