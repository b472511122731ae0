# ruff: noqa: E501  (reviewed Alembic autogenerate output, kept as generated)
"""initial: insured persons, accounts and ledger, counters, cards, QR tokens, payment
contexts, holds, refunds, settlement rows, policies (and the kit's idempotency keys)

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from medpay_kit.idempotency import idempotency_table
from medpay_kit.migrations import create_shared_table

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_shared_table(op, idempotency_table)
    op.create_table('insured_persons',
    sa.Column('insured_id', sa.String(length=40), nullable=False),
    sa.Column('person_number_hash', sa.String(length=64), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=False),
    sa.Column('person_number_enc', sa.LargeBinary(), nullable=False),
    sa.Column('id_number_enc', sa.LargeBinary(), nullable=False),
    sa.Column('name_enc', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('insurance_types', sa.String(length=64), nullable=False),
    sa.Column('person_type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('identity_person_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('insured_id', name=op.f('pk_insured_persons')),
    sa.UniqueConstraint('person_number_hash', name=op.f('uq_insured_persons_person_number_hash'))
    )
    with op.batch_alter_table('insured_persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insured_persons_id_number_hash'), ['id_number_hash'], unique=False)

    op.create_table('policies',
    sa.Column('policy_id', sa.String(length=128), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('insurance_type', sa.Integer(), nullable=False),
    sa.Column('medical_type', sa.String(length=16), nullable=False),
    sa.Column('institution_level', sa.String(length=16), nullable=False),
    sa.Column('person_type', sa.String(length=16), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('deductible', sa.BigInteger(), nullable=False),
    sa.Column('deductible_scope', sa.String(length=16), nullable=False),
    sa.Column('fund_ratio_bp', sa.Integer(), nullable=False),
    sa.Column('yearly_cap', sa.BigInteger(), nullable=False),
    sa.Column('pooling', sa.Boolean(), nullable=False),
    sa.Column('account_may_pay_out_of_scope', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('policy_id', 'version', name=op.f('pk_policies'))
    )
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.create_index('ix_policies_combination', ['region_code', 'insurance_type', 'medical_type', 'institution_level', 'person_type'], unique=False)

    op.create_table('account_credits',
    sa.Column('insured_id', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('txn_id', sa.String(length=40), nullable=False),
    sa.Column('credited_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['insured_id'], ['insured_persons.insured_id'], name=op.f('fk_account_credits_insured_id_insured_persons')),
    sa.PrimaryKeyConstraint('insured_id', 'period', name=op.f('pk_account_credits'))
    )
    op.create_table('accounts',
    sa.Column('insured_id', sa.String(length=40), nullable=False),
    sa.Column('personal_balance', sa.BigInteger(), nullable=False),
    sa.Column('hold_balance', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('hold_balance >= 0', name=op.f('ck_accounts_hold_non_negative')),
    sa.CheckConstraint('personal_balance >= 0', name=op.f('ck_accounts_personal_non_negative')),
    sa.ForeignKeyConstraint(['insured_id'], ['insured_persons.insured_id'], name=op.f('fk_accounts_insured_id_insured_persons')),
    sa.PrimaryKeyConstraint('insured_id', name=op.f('pk_accounts'))
    )
    op.create_table('benefit_counters',
    sa.Column('insured_id', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('insurance_type', sa.Integer(), nullable=False),
    sa.Column('medical_type', sa.String(length=16), nullable=False),
    sa.Column('deductible_used', sa.BigInteger(), nullable=False),
    sa.Column('deductible_held', sa.BigInteger(), nullable=False),
    sa.Column('pooled_paid', sa.BigInteger(), nullable=False),
    sa.Column('pooled_held', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('deductible_used >= 0 AND deductible_held >= 0', name=op.f('ck_benefit_counters_deductible_non_negative')),
    sa.CheckConstraint('pooled_paid >= 0 AND pooled_held >= 0', name=op.f('ck_benefit_counters_pooled_non_negative')),
    sa.ForeignKeyConstraint(['insured_id'], ['insured_persons.insured_id'], name=op.f('fk_benefit_counters_insured_id_insured_persons')),
    sa.PrimaryKeyConstraint('insured_id', 'year', 'insurance_type', 'medical_type', name=op.f('pk_benefit_counters'))
    )
    op.create_table('cards',
    sa.Column('card_id', sa.String(length=40), nullable=False),
    sa.Column('insured_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('insurance_type', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('credential_hash', sa.String(length=64), nullable=False),
    sa.Column('credential_salt', sa.LargeBinary(length=16), nullable=False),
    sa.Column('replaces_card_id', sa.String(length=40), nullable=True),
    sa.Column('status_reason', sa.String(length=200), nullable=False),
    sa.Column('status_changed_by', sa.String(length=16), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['insured_id'], ['insured_persons.insured_id'], name=op.f('fk_cards_insured_id_insured_persons')),
    sa.PrimaryKeyConstraint('card_id', name=op.f('pk_cards'))
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cards_device_id'), ['device_id'], unique=False)
        batch_op.create_index('uq_cards_live_insured', ['insured_id'], unique=True, sqlite_where=sa.text("status IN ('ACTIVE', 'SUSPENDED')"), postgresql_where=sa.text("status IN ('ACTIVE', 'SUSPENDED')"))

    op.create_table('ledger_transactions',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('txn_id', sa.String(length=40), nullable=False),
    sa.Column('insured_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('merchant_id', sa.String(length=32), nullable=False),
    sa.Column('balance_change', sa.BigInteger(), nullable=False),
    sa.Column('held_change', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('held_after', sa.BigInteger(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['insured_id'], ['insured_persons.insured_id'], name=op.f('fk_ledger_transactions_insured_id_insured_persons')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_transactions')),
    sa.UniqueConstraint('txn_id', name=op.f('uq_ledger_transactions_txn_id'))
    )
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_transactions_insured_seq', ['insured_id', 'seq'], unique=False)

    op.create_table('holds',
    sa.Column('hold_id', sa.String(length=40), nullable=False),
    sa.Column('caller', sa.String(length=160), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=False),
    sa.Column('insured_id', sa.String(length=40), nullable=False),
    sa.Column('card_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=32), nullable=False),
    sa.Column('payment_context_id', sa.String(length=40), nullable=True),
    sa.Column('acquirer_reference', sa.String(length=64), nullable=False),
    sa.Column('insurance_type', sa.Integer(), nullable=False),
    sa.Column('medical_type', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('claim', sa.JSON(), nullable=False),
    sa.Column('deductible', sa.BigInteger(), nullable=False),
    sa.Column('fund_pay', sa.BigInteger(), nullable=False),
    sa.Column('account_pay', sa.BigInteger(), nullable=False),
    sa.Column('cash_pay', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('refund_state', sa.JSON(), nullable=True),
    sa.Column('issuer_reference', sa.String(length=40), nullable=True),
    sa.Column('balance_after_capture', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['cards.card_id'], name=op.f('fk_holds_card_id_cards')),
    sa.ForeignKeyConstraint(['insured_id'], ['insured_persons.insured_id'], name=op.f('fk_holds_insured_id_insured_persons')),
    sa.PrimaryKeyConstraint('hold_id', name=op.f('pk_holds')),
    sa.UniqueConstraint('caller', 'request_id', name='uq_holds_caller_request')
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index('ix_holds_state_expires_at', ['state', 'expires_at'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('entry_no', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('txn_id', sa.String(length=40), nullable=False),
    sa.Column('insured_id', sa.String(length=40), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['txn_id'], ['ledger_transactions.txn_id'], name=op.f('fk_ledger_entries_txn_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('entry_no', name=op.f('pk_ledger_entries'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_insured_account', ['insured_id', 'account'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_txn_id'), ['txn_id'], unique=False)

    op.create_table('qr_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('card_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['cards.card_id'], name=op.f('fk_qr_tokens_card_id_cards')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_qr_tokens'))
    )
    with op.batch_alter_table('qr_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qr_tokens_card_id'), ['card_id'], unique=False)

    op.create_table('payment_contexts',
    sa.Column('payment_context_id', sa.String(length=40), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('card_id', sa.String(length=40), nullable=False),
    sa.Column('insured_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=32), nullable=False),
    sa.Column('merchant_kind', sa.String(length=16), nullable=False),
    sa.Column('caller', sa.String(length=160), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('hold_id', sa.String(length=40), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.card_id'], name=op.f('fk_payment_contexts_card_id_cards')),
    sa.ForeignKeyConstraint(['token_hash'], ['qr_tokens.token_hash'], name=op.f('fk_payment_contexts_token_hash_qr_tokens')),
    sa.PrimaryKeyConstraint('payment_context_id', name=op.f('pk_payment_contexts')),
    sa.UniqueConstraint('caller', 'request_id', name='uq_payment_contexts_caller_request'),
    sa.UniqueConstraint('token_hash', name=op.f('uq_payment_contexts_token_hash'))
    )
    op.create_table('refunds',
    sa.Column('refund_id', sa.String(length=40), nullable=False),
    sa.Column('hold_id', sa.String(length=40), nullable=False),
    sa.Column('caller', sa.String(length=160), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('parts', sa.JSON(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.hold_id'], name=op.f('fk_refunds_hold_id_holds')),
    sa.PrimaryKeyConstraint('refund_id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_hold_id'), ['hold_id'], unique=False)

    op.create_table('settlement_rows',
    sa.Column('row_no', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('caller', sa.String(length=160), nullable=False),
    sa.Column('merchant_id', sa.String(length=32), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('insurance_type', sa.Integer(), nullable=False),
    sa.Column('hold_id', sa.String(length=40), nullable=False),
    sa.Column('acquirer_reference', sa.String(length=64), nullable=False),
    sa.Column('refund', sa.Boolean(), nullable=False),
    sa.Column('refund_id', sa.String(length=40), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('fund_pay', sa.BigInteger(), nullable=False),
    sa.Column('account_pay', sa.BigInteger(), nullable=False),
    sa.Column('cash_pay', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.hold_id'], name=op.f('fk_settlement_rows_hold_id_holds')),
    sa.PrimaryKeyConstraint('row_no', name=op.f('pk_settlement_rows'))
    )
    with op.batch_alter_table('settlement_rows', schema=None) as batch_op:
        batch_op.create_index('ix_settlement_rows_merchant_date', ['caller', 'merchant_id', 'business_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('settlement_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_settlement_rows_merchant_date')

    op.drop_table('settlement_rows')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_hold_id'))

    op.drop_table('refunds')
    op.drop_table('payment_contexts')
    with op.batch_alter_table('qr_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qr_tokens_card_id'))

    op.drop_table('qr_tokens')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_txn_id'))
        batch_op.drop_index('ix_ledger_entries_insured_account')

    op.drop_table('ledger_entries')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('ix_holds_state_expires_at')

    op.drop_table('holds')
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transactions_insured_seq')

    op.drop_table('ledger_transactions')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index('uq_cards_live_insured', sqlite_where=sa.text("status IN ('ACTIVE', 'SUSPENDED')"), postgresql_where=sa.text("status IN ('ACTIVE', 'SUSPENDED')"))
        batch_op.drop_index(batch_op.f('ix_cards_device_id'))

    op.drop_table('cards')
    op.drop_table('benefit_counters')
    op.drop_table('accounts')
    op.drop_table('account_credits')
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_index('ix_policies_combination')

    op.drop_table('policies')
    with op.batch_alter_table('insured_persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insured_persons_id_number_hash'))

    op.drop_table('insured_persons')
    op.drop_table('idempotency_keys')
