"""The billing database: SQLAlchemy Core tables on the kit's naming convention.

Amounts are integer fen (BigInteger). Dates that are business dates (CST) are stored as
"YYYY-MM-DD" strings; instants as timezone-aware timestamps.
"""

from __future__ import annotations

from sqlalchemy import (
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
channel_transactions = channel_table(metadata)

TS = DateTime(timezone=True)
FEN = BigInteger

hospitals = Table(
    "hospitals", metadata,
    Column("institution_code", String(12), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("level", Integer, nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("credit_limit_fen", FEN, nullable=False),
    Column("grace_days", Integer, nullable=False),
    Column("auto_debit", Boolean, nullable=False),
    Column("blacklist_after_overdue_days", Integer, nullable=False),
    # the last event id handed out for this hospital (events are numbered under this row's lock)
    Column("last_event_id", BigInteger, nullable=False, default=0),
    Column("registered_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

his_clients = Table(
    "his_clients", metadata,
    Column("client_id", String(40), primary_key=True),
    Column("institution_code", String(12), ForeignKey("hospitals.institution_code"), nullable=False),
    Column("label", String(128), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
)

agreements = Table(
    "agreements", metadata,
    Column("agreement_id", String(40), primary_key=True),
    Column("institution_code", String(12), ForeignKey("hospitals.institution_code"), nullable=False),
    Column("card_id", String(64), nullable=False),
    # "<card>|<hospital>" while not CLOSED, NULL once CLOSED: one live agreement per pair
    Column("live_key", String(100), nullable=True, unique=True),
    Column("status", String(12), nullable=False),
    Column("limit_fen", FEN, nullable=False),
    Column("used_fen", FEN, nullable=False),
    Column("payer_reference", String(128), nullable=False),
    Column("auto_debit", Boolean, nullable=False),
    Column("use_personal_account", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_agreements_card", "card_id"),
)

appointments = Table(
    "appointments", metadata,
    Column("appointment_id", String(40), primary_key=True),
    Column("institution_code", String(12), ForeignKey("hospitals.institution_code"), nullable=False),
    Column("card_id", String(64), nullable=False),
    Column("department", String(64), nullable=False),
    Column("slot_start", TS, nullable=False),
    Column("status", String(12), nullable=False),
    Column("visit_id", String(40), nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Index("ix_appointments_slot", "institution_code", "department", "slot_start"),
)

visits = Table(
    "visits", metadata,
    Column("visit_id", String(40), primary_key=True),
    Column("institution_code", String(12), ForeignKey("hospitals.institution_code"), nullable=False),
    Column("card_id", String(64), nullable=False),
    Column("agreement_id", String(40), ForeignKey("agreements.agreement_id"), nullable=False),
    Column("appointment_id", String(40), nullable=False, default=""),
    Column("department", String(64), nullable=False),
    Column("medical_type", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("masked_name", String(64), nullable=False),
    Column("insurance_type", Integer, nullable=False),
    Column("opened_at", TS, nullable=False),
    Column("opened_date", String(10), nullable=False),
    Column("closed_at", TS, nullable=True),
    Column("charged_total_fen", FEN, nullable=False, default=0),
    # expected self-pay of the live lines, counted in the agreement's used credit while OPEN
    Column("reserved_fen", FEN, nullable=False, default=0),
    # bumped by every change of the lines, so a PostCharges computed on stale lines retries
    Column("lines_version", Integer, nullable=False, default=0),
    Column("next_line_no", Integer, nullable=False, default=1),
    Column("bill_id", String(40), nullable=False, default=""),
    # closing (two-phase with card)
    Column("close_attempt", Integer, nullable=False, default=0),
    Column("close_step", String(12), nullable=False, default=""),
    Column("hold_id", String(64), nullable=False, default=""),
    Column("authorized_split", LargeBinary, nullable=True),
    Column("lease_owner", String(32), nullable=False, default=""),
    Column("lease_until", TS, nullable=True),
    Index("ix_visits_hospital_opened", "institution_code", "opened_at"),
    Index("ix_visits_status_lease", "status", "lease_until"),
)

charge_lines = Table(
    "charge_lines", metadata,
    Column("visit_id", String(40), ForeignKey("visits.visit_id"), primary_key=True),
    Column("his_line_id", String(64), primary_key=True),
    Column("line_no", Integer, nullable=False),
    Column("item_code", String(64), nullable=False),
    Column("item_name", String(128), nullable=False),
    Column("item_class", String(1), nullable=False),
    Column("unit_price", String(32), nullable=False),
    Column("quantity", String(32), nullable=False),
    Column("price_cap", String(32), nullable=False),
    Column("pre_self_pay_ratio_bp", Integer, nullable=False),
    Column("department", String(64), nullable=False),
    Column("doctor", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("cancelled", Boolean, nullable=False, default=False),
    Column("refunded", Boolean, nullable=False, default=False),
    Column("posted_at", TS, nullable=False),
    UniqueConstraint("visit_id", "line_no"),
)

bills = Table(
    "bills", metadata,
    Column("bill_id", String(40), primary_key=True),
    Column("visit_id", String(40), ForeignKey("visits.visit_id"), nullable=False, unique=True),
    Column("agreement_id", String(40), ForeignKey("agreements.agreement_id"), nullable=False),
    Column("institution_code", String(12), nullable=False),
    Column("card_id", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("split", LargeBinary, nullable=False),
    Column("cash_fen", FEN, nullable=False),
    Column("self_pay_due_fen", FEN, nullable=False),
    Column("due_date", String(10), nullable=False),
    Column("overdue", Boolean, nullable=False, default=False),
    Column("issued_at", TS, nullable=False),
    Column("paid_at", TS, nullable=True),
    Column("hold_id", String(64), nullable=False),
    Column("issuer_reference", String(64), nullable=False),
    Column("channel_reference", String(128), nullable=False, default=""),
    Column("channel_transaction_id", String(40), nullable=False, default=""),
    # a charge sent to the channel whose outcome is not recorded yet (one at a time)
    Column("paying_reference", String(128), nullable=True),
    Column("paying_amount_fen", FEN, nullable=False, default=0),
    Column("paying_since", TS, nullable=True),
    Column("payment_attempts", Integer, nullable=False, default=0),
    Column("last_auto_debit_on", String(10), nullable=False, default=""),
    Index("ix_bills_card_issued", "card_id", "issued_at"),
    Index("ix_bills_collect", "status", "due_date"),
)

payouts = Table(
    "payouts", metadata,
    Column("payout_id", String(40), primary_key=True),
    Column("institution_code", String(12), nullable=False),
    Column("visit_id", String(40), nullable=False),
    Column("bill_id", String(40), nullable=False),
    Column("refund_id", String(40), nullable=False, default=""),
    Column("total_fen", FEN, nullable=False),
    Column("fund_fen", FEN, nullable=False),
    Column("account_fen", FEN, nullable=False),
    Column("credit_cash_fen", FEN, nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("created_at", TS, nullable=False),
    Index("ix_payouts_hospital_date", "institution_code", "business_date"),
)

refunds = Table(
    "refunds", metadata,
    Column("refund_id", String(40), primary_key=True),
    Column("visit_id", String(40), ForeignKey("visits.visit_id"), nullable=False),
    Column("bill_id", String(40), nullable=False),
    Column("request_key", String(200), nullable=False, unique=True),
    Column("his_line_ids", String(4000), nullable=False),
    Column("line_nos", String(2000), nullable=False),
    Column("status", String(12), nullable=False),  # PENDING, COMPLETED, FAILED
    Column("step", String(12), nullable=False, default=""),  # "" or ISSUER_DONE
    Column("refunded", LargeBinary, nullable=True),
    Column("written_off_fen", FEN, nullable=False, default=0),
    Column("returned_fen", FEN, nullable=False, default=0),
    Column("lease_owner", String(32), nullable=False, default=""),
    Column("lease_until", TS, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("completed_at", TS, nullable=True),
)

events = Table(
    "visit_events", metadata,
    Column("institution_code", String(12), primary_key=True),
    Column("event_id", BigInteger, primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("visit_id", String(40), nullable=False),
    Column("bill_id", String(40), nullable=False),
    Column("agreement_id", String(40), nullable=False),
    Column("at", TS, nullable=False),
)
