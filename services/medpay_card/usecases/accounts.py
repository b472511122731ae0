"""The insurance query (GetAccount, ListAccountEntries) and CreditAccount."""

from __future__ import annotations

import base64
import binascii

from sqlalchemy.ext.asyncio import AsyncSession

from medpay.card.v1 import card_pb2
from medpay_card.adapters import counters_repo, insured_repo, ledger_repo, policy_repo
from medpay_card.domain import ledger
from medpay_card.domain.calendar import benefit_year, business_date
from medpay_card.domain.policy import BenefitPolicy
from medpay_card.usecases import commands as cmd
from medpay_card.usecases.access import insured_of, own_account
from medpay_card.usecases.deps import Deps
from medpay_card.wire import enums, render
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError


def in_force(policies: list[BenefitPolicy], today: object) -> list[BenefitPolicy]:
    """Per combination, the highest version covering today."""
    best: dict[tuple[object, ...], BenefitPolicy] = {}
    for p in policies:
        if p.covers(today) and (p.combination not in best  # type: ignore[arg-type]
                                or best[p.combination].version < p.version):
            best[p.combination] = p
    return sorted(best.values(), key=lambda p: (p.insurance_type, p.medical_type,
                                                 p.institution_level))


async def get_account(deps: Deps, caller: Caller, owner: cmd.Owner,
                      year: int) -> card_pb2.GetAccountResponse:
    now = deps.now()
    year = year or benefit_year(now)
    if not 2000 <= year <= 2200:
        raise DomainError("INVALID_ARGUMENT", "year is out of range", field="year")
    async with deps.db.read() as session:
        insured = await own_account(session, caller, owner.card_id, owner.insured_id)
        account = await ledger_repo.read_account(session, insured.insured_id)
        counters = await counters_repo.list_year(session, insured.insured_id, year)
        policies = await policy_repo.for_person(session, insured.region_code,
                                                insured.insurance_types, insured.person_type)
    return card_pb2.GetAccountResponse(
        insured_id=insured.insured_id, year=year, balance=render.money(account.balance),
        held=render.money(account.held), available=render.money(account.personal),
        counters=[card_pb2.BenefitCounter(
            insurance_type=c.insurance_type,  # type: ignore[attr-defined]
            medical_type=enums.number(enums.MEDICAL_TYPES, c.medical_type),  # type: ignore[attr-defined]
            deductible_used=render.money(c.deductible_used),  # type: ignore[attr-defined]
            pooled_fund_paid=render.money(c.pooled_paid))  # type: ignore[attr-defined]
            for c in counters],
        policies=[render.policy_in_force(p) for p in in_force(policies, business_date(now))])


def _page_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def _read_page_token(token: str) -> int | None:
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("seq:"):
            return int(text[4:])
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise DomainError("INVALID_ARGUMENT", "page_token is not valid", field="page_token")


async def list_entries(deps: Deps, caller: Caller, owner: cmd.Owner, page_size: int,
                       page_token: str) -> card_pb2.ListAccountEntriesResponse:
    before = _read_page_token(page_token)
    async with deps.db.read() as session:
        insured = await own_account(session, caller, owner.card_id, owner.insured_id)
        rows = await ledger_repo.list_transactions(session, insured.insured_id,
                                                   before_seq=before, limit=page_size + 1)
    more = len(rows) > page_size
    rows = rows[:page_size]
    return card_pb2.ListAccountEntriesResponse(
        entries=[render.account_entry(r) for r in rows],
        next_page_token=_page_token(rows[-1].seq) if more else "")  # type: ignore[attr-defined]


async def credit_account(deps: Deps, caller: Caller, command: cmd.CreditAccount,
                         request: card_pb2.CreditAccountRequest) -> card_pb2.CreditAccountResponse:
    async def work(session: AsyncSession) -> card_pb2.CreditAccountResponse:
        if command.insured_id is not None:
            insured = await insured_of(session, command.insured_id)
        else:
            assert command.person_number is not None
            found = await insured_repo.get_by_number_hash(
                session, deps.personal.person_number_hash(command.person_number))
            if found is None:
                raise DomainError("INSURED_NOT_FOUND", "no such insured person",
                                  field="person_number")
            insured = found
        now = deps.now()
        await ledger_repo.lock_account(session, insured.insured_id)
        if await ledger_repo.credited(session, insured.insured_id, command.period):
            raise DomainError("PERIOD_ALREADY_CREDITED",
                              "this account was already credited for that period", field="period")
        posted = await ledger_repo.post(session, insured.insured_id, ledger.credit(command.amount),
                                        reference=command.period, merchant_id="", now=now)
        await ledger_repo.record_credit(session, insured.insured_id, command.period,
                                        command.amount, posted.txn_id, now)
        return card_pb2.CreditAccountResponse(entry_id=posted.txn_id,
                                              balance_after=render.money(posted.account.balance))

    return await deps.idem.run(deps.db, caller.key, "CreditAccount", request,
                               card_pb2.CreditAccountResponse, work)
