"""The person's accounts row, ledger transactions and entries.

``lock_account`` is the one lock of a person's money: ``SELECT … FOR UPDATE`` on PostgreSQL
(SQLite already runs one writer at a time). Every movement is posted with a guarded update
(the new balances must stay ≥ 0, backed by CHECK constraints) in the same transaction as its
balanced entries, so the row always equals the sum of the entries. The statements of a
settlement's path are built once with bound parameters (reused, they keep their compiled
form).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.adapters.ids import new_id
from medpay_card.adapters.tables import account_credits, accounts, ledger_entries, ledger_transactions
from medpay_card.domain.ledger import Movement
from medpay_kit.errors import DomainError


@dataclass(frozen=True, slots=True)
class Account:
    personal: int  # available
    held: int

    @property
    def balance(self) -> int:
        """balc: the holder's balance, held money included."""
        return self.personal + self.held


@dataclass(frozen=True, slots=True)
class Posted:
    txn_id: str
    account: Account  # after the movement


_BALANCES = (accounts.c.personal_balance, accounts.c.hold_balance)
_BY_PERSON = accounts.c.insured_id == bindparam("k_insured_id")
_READ = select(*_BALANCES).where(_BY_PERSON)
_LOCK = _READ.with_for_update()
_PERSONAL, _HELD = bindparam("d_personal", type_=Integer), bindparam("d_held", type_=Integer)
_POST = (update(accounts)
         .where(_BY_PERSON, accounts.c.personal_balance + _PERSONAL >= 0,
                accounts.c.hold_balance + _HELD >= 0)
         .values(personal_balance=accounts.c.personal_balance + _PERSONAL,
                 hold_balance=accounts.c.hold_balance + _HELD,
                 updated_at=bindparam("k_now", type_=accounts.c.updated_at.type))
         .returning(*_BALANCES))
_ADD_TRANSACTION = ledger_transactions.insert()
_ADD_ENTRIES = ledger_entries.insert()


async def create_account(session: AsyncSession, insured_id: str, now: datetime) -> None:
    await session.execute(accounts.insert().values(
        insured_id=insured_id, personal_balance=0, hold_balance=0, updated_at=now))


async def lock_account(session: AsyncSession, insured_id: str) -> Account:
    row = (await session.execute(_LOCK, {"k_insured_id": insured_id})).one()
    return Account(row.personal_balance, row.hold_balance)


async def read_account(session: AsyncSession, insured_id: str) -> Account:
    row = (await session.execute(_READ, {"k_insured_id": insured_id})).one()
    return Account(row.personal_balance, row.hold_balance)


async def post(session: AsyncSession, insured_id: str, movement: Movement, *, reference: str,
               merchant_id: str, now: datetime) -> Posted:
    """Apply a balanced movement: guarded balance update, then its transaction and entries."""
    dp, dh = movement.personal_change, movement.held_change
    row = (await session.execute(_POST, {"k_insured_id": insured_id, "d_personal": dp,
                                         "d_held": dh, "k_now": now})).first()
    if row is None:
        raise DomainError("INSUFFICIENT_BALANCE",
                          "the personal-account balance does not cover this movement")
    after = Account(row.personal_balance, row.hold_balance)  # the balances after the update
    txn_id = new_id("txn")
    if not movement.is_empty:
        await session.execute(_ADD_TRANSACTION, {
            "txn_id": txn_id, "insured_id": insured_id, "kind": movement.kind,
            "reference": reference, "merchant_id": merchant_id,
            "balance_change": movement.balance_change, "held_change": dh,
            "balance_after": after.balance, "held_after": after.held, "posted_at": now})
        await session.execute(_ADD_ENTRIES, [
            {"txn_id": txn_id, "insured_id": insured_id, "account": p.account, "amount": p.amount}
            for p in movement.postings])
    return Posted(txn_id, after)


async def list_transactions(session: AsyncSession, insured_id: str, *, before_seq: int | None,
                            limit: int) -> list[object]:
    """The holder's view, newest first: transactions that changed the balance or the held part."""
    t = ledger_transactions
    query = (select(t).where(t.c.insured_id == insured_id,
                             or_(t.c.balance_change != 0, t.c.held_change != 0))
             .order_by(t.c.seq.desc()).limit(limit))
    if before_seq is not None:
        query = query.where(t.c.seq < before_seq)
    return list((await session.execute(query)).all())


async def entry_sums(session: AsyncSession, insured_id: str) -> dict[str, int]:
    """Balance of every ledger account of a person (for checks and tests)."""
    rows = await session.execute(
        select(ledger_entries.c.account, func.sum(ledger_entries.c.amount))
        .where(ledger_entries.c.insured_id == insured_id).group_by(ledger_entries.c.account))
    return {account: int(total) for account, total in rows.all()}


async def credited(session: AsyncSession, insured_id: str, period: str) -> bool:
    row = (await session.execute(select(account_credits.c.txn_id).where(
        account_credits.c.insured_id == insured_id, account_credits.c.period == period))).first()
    return row is not None


async def record_credit(session: AsyncSession, insured_id: str, period: str, amount: int,
                        txn_id: str, now: datetime) -> None:
    """At most one credit per person and period (primary key)."""
    await session.execute(account_credits.insert().values(
        insured_id=insured_id, period=period, amount=amount, txn_id=txn_id, credited_at=now))
