"""The card service's tables (SQLAlchemy Core, one ``metadata`` with the kit's naming convention).

Personal data (names, ID numbers, person numbers) is stored only encrypted under a key id
plus keyed look-up hashes. Money is integer fen. ``accounts`` carries the two balances that
must never go negative (CHECK constraints back the guarded updates) and is the row a
writer locks to serialize everything that touches one person's money and counters.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)

from medpay_kit.db import UtcDateTime, new_metadata
from medpay_kit.idempotency import idempotency_table

metadata: MetaData = new_metadata()
idempotency = idempotency_table(metadata)

ID = 40
MERCHANT = 32

insured_persons = Table(
    "insured_persons", metadata,
    Column("insured_id", String(ID), primary_key=True),
    Column("person_number_hash", String(64), nullable=False, unique=True),
    Column("id_number_hash", String(64), nullable=False, index=True),
    Column("person_number_enc", LargeBinary, nullable=False),
    Column("id_number_enc", LargeBinary, nullable=False),
    Column("name_enc", LargeBinary, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("insurance_types", String(64), nullable=False),  # "310,390"
    Column("person_type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("identity_person_id", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

accounts = Table(
    "accounts", metadata,
    Column("insured_id", String(ID), ForeignKey("insured_persons.insured_id"), primary_key=True),
    Column("personal_balance", BigInteger, nullable=False),
    Column("hold_balance", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("personal_balance >= 0", name="personal_non_negative"),
    CheckConstraint("hold_balance >= 0", name="hold_non_negative"),
)

benefit_counters = Table(
    "benefit_counters", metadata,
    Column("insured_id", String(ID), ForeignKey("insured_persons.insured_id"), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("insurance_type", Integer, primary_key=True),
    Column("medical_type", String(16), primary_key=True),
    Column("deductible_used", BigInteger, nullable=False),
    Column("deductible_held", BigInteger, nullable=False),
    Column("pooled_paid", BigInteger, nullable=False),
    Column("pooled_held", BigInteger, nullable=False),
    CheckConstraint("deductible_used >= 0 AND deductible_held >= 0", name="deductible_non_negative"),
    CheckConstraint("pooled_paid >= 0 AND pooled_held >= 0", name="pooled_non_negative"),
)

ledger_transactions = Table(
    "ledger_transactions", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("txn_id", String(ID), nullable=False, unique=True),
    Column("insured_id", String(ID), ForeignKey("insured_persons.insured_id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("merchant_id", String(MERCHANT), nullable=False),
    Column("balance_change", BigInteger, nullable=False),
    Column("held_change", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("held_after", BigInteger, nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    Index("ix_ledger_transactions_insured_seq", "insured_id", "seq"),
)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("entry_no", Integer, primary_key=True, autoincrement=True),
    Column("txn_id", String(ID), ForeignKey("ledger_transactions.txn_id"), nullable=False,
           index=True),
    Column("insured_id", String(ID), nullable=False),
    Column("account", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Index("ix_ledger_entries_insured_account", "insured_id", "account"),
)

account_credits = Table(
    "account_credits", metadata,
    Column("insured_id", String(ID), ForeignKey("insured_persons.insured_id"), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("txn_id", String(ID), nullable=False),
    Column("credited_at", UtcDateTime, nullable=False),
)

cards = Table(
    "cards", metadata,
    Column("card_id", String(ID), primary_key=True),
    Column("insured_id", String(ID), ForeignKey("insured_persons.insured_id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("insurance_type", Integer, nullable=False),
    Column("device_id", String(64), nullable=False, index=True),
    Column("credential_hash", String(64), nullable=False),
    Column("credential_salt", LargeBinary(16), nullable=False),
    Column("replaces_card_id", String(ID), nullable=True),
    Column("status_reason", String(200), nullable=False),
    Column("status_changed_by", String(16), nullable=True),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("status_changed_at", UtcDateTime, nullable=False),
    # at most one live (ACTIVE or SUSPENDED) card per insured person
    Index("uq_cards_live_insured", "insured_id", unique=True,
          sqlite_where=text("status IN ('ACTIVE', 'SUSPENDED')"),
          postgresql_where=text("status IN ('ACTIVE', 'SUSPENDED')")),
)

qr_tokens = Table(
    "qr_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("card_id", String(ID), ForeignKey("cards.card_id"), nullable=False, index=True),
    Column("state", String(16), nullable=False),  # ISSUED, USED
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)

payment_contexts = Table(
    "payment_contexts", metadata,
    Column("payment_context_id", String(ID), primary_key=True),
    Column("token_hash", String(64), ForeignKey("qr_tokens.token_hash"), nullable=False,
           unique=True),
    Column("card_id", String(ID), ForeignKey("cards.card_id"), nullable=False),
    Column("insured_id", String(ID), nullable=False),
    Column("merchant_id", String(MERCHANT), nullable=False),
    Column("merchant_kind", String(16), nullable=False),
    Column("caller", String(160), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("state", String(16), nullable=False),  # OPEN, USED
    Column("hold_id", String(ID), nullable=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("caller", "request_id", name="uq_payment_contexts_caller_request"),
)

#: a card holder's standing consent (credit agreement) that one service may settle by card id
#: at one merchant; ``live_key`` is "<caller>|<card>|<merchant>" while ACTIVE, NULL after
credit_mandates = Table(
    "credit_mandates", metadata,
    Column("mandate_id", String(ID), primary_key=True),
    Column("caller", String(160), nullable=False),
    Column("card_id", String(ID), ForeignKey("cards.card_id"), nullable=False),
    Column("merchant_id", String(MERCHANT), nullable=False),
    Column("live_key", String(240), nullable=True, unique=True),
    Column("status", String(16), nullable=False),  # ACTIVE, WITHDRAWN
    Column("assertion_id", String(64), nullable=False, unique=True),
    Column("assertion_method", String(16), nullable=False),
    Column("agreement_reference", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("withdrawn_at", UtcDateTime, nullable=True),
    Column("withdrawn_reason", String(200), nullable=True),
)

holds = Table(
    "holds", metadata,
    Column("hold_id", String(ID), primary_key=True),
    Column("caller", String(160), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("insured_id", String(ID), ForeignKey("insured_persons.insured_id"), nullable=False),
    Column("card_id", String(ID), ForeignKey("cards.card_id"), nullable=False),
    Column("merchant_id", String(MERCHANT), nullable=False),
    Column("payment_context_id", String(ID), nullable=True),
    Column("acquirer_reference", String(64), nullable=False),
    Column("insurance_type", Integer, nullable=False),
    Column("medical_type", String(16), nullable=False),
    Column("year", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("claim", JSON, nullable=False),  # lines, terms, start counters, use_account, split
    Column("deductible", BigInteger, nullable=False),
    Column("fund_pay", BigInteger, nullable=False),
    Column("account_pay", BigInteger, nullable=False),
    Column("cash_pay", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("refund_state", JSON, nullable=True),
    Column("issuer_reference", String(ID), nullable=True),
    Column("balance_after_capture", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("captured_at", UtcDateTime, nullable=True),
    Column("released_at", UtcDateTime, nullable=True),
    UniqueConstraint("caller", "request_id", name="uq_holds_caller_request"),
    Index("ix_holds_state_expires_at", "state", "expires_at"),
)

refunds = Table(
    "refunds", metadata,
    Column("refund_id", String(ID), primary_key=True),
    Column("hold_id", String(ID), ForeignKey("holds.hold_id"), nullable=False, index=True),
    Column("caller", String(160), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("parts", JSON, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("refunded_at", UtcDateTime, nullable=False),
)

#: Append-only: one row per capture and per refund, for daily totals and reconciliation.
settlement_rows = Table(
    "settlement_rows", metadata,
    Column("row_no", Integer, primary_key=True, autoincrement=True),
    Column("caller", String(160), nullable=False),
    Column("merchant_id", String(MERCHANT), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("insurance_type", Integer, nullable=False),
    Column("hold_id", String(ID), ForeignKey("holds.hold_id"), nullable=False),
    Column("acquirer_reference", String(64), nullable=False),
    Column("refund", Boolean, nullable=False),
    Column("refund_id", String(ID), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("fund_pay", BigInteger, nullable=False),
    Column("account_pay", BigInteger, nullable=False),
    Column("cash_pay", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_settlement_rows_merchant_date", "caller", "merchant_id", "business_date"),
)

policies = Table(
    "policies", metadata,
    Column("policy_id", String(128), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("region_code", String(6), nullable=False),
    Column("insurance_type", Integer, nullable=False),
    Column("medical_type", String(16), nullable=False),
    Column("institution_level", String(16), nullable=False),
    Column("person_type", String(16), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
    Column("deductible", BigInteger, nullable=False),
    Column("deductible_scope", String(16), nullable=False),
    Column("fund_ratio_bp", Integer, nullable=False),
    Column("yearly_cap", BigInteger, nullable=False),
    Column("pooling", Boolean, nullable=False),
    Column("account_may_pay_out_of_scope", Boolean, nullable=False),
    Column("source", String(16), nullable=False),  # "file" or "operator"
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_policies_combination", "region_code", "insurance_type", "medical_type",
          "institution_level", "person_type"),
)
