"""Whose claim, under which policy, against which counters; and Adjudicate (试算, nothing held).

A claim names its subject by a payment context (from a scanned QR code; bound to the
merchant and the service that resolved it) or directly by card (a service with an active
credit mandate for the card at the merchant: billing settling after treatment). Counters
are read as used + held, so an adjudication already accounts for authorizations that are
still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from medpay.card.v1 import card_pb2
from medpay_card.adapters import counters_repo, ledger_repo, policy_repo, qr_repo
from medpay_card.adapters.card_repo import Card
from medpay_card.adapters.counters_repo import Counter, CounterKey
from medpay_card.adapters.insured_repo import Insured
from medpay_card.adapters.ledger_repo import Account
from medpay_card.adapters.qr_repo import PaymentContextRow
from medpay_card.domain.adjudication import Counters, Terms, adjudicate
from medpay_card.domain.calendar import benefit_year, business_date
from medpay_card.domain.policy import PolicyBook, counter_group, terms_for
from medpay_card.usecases import commands as cmd
from medpay_card.usecases.access import context_of_caller, mandated_card, subject_for
from medpay_card.usecases.deps import Deps
from medpay_card.usecases.qr import payable_card
from medpay_card.wire import render
from medpay_kit.access import refuse_subject
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError


@dataclass(frozen=True, slots=True)
class Subject:
    card: Card
    insured: Insured
    context: PaymentContextRow | None


async def subject_of(session: AsyncSession, caller: Caller, rpc: str, claim: cmd.Claim,
                     now: datetime) -> Subject:
    """The claim's card under the caller's subject rule on ``rpc`` (``medpay_card.access``):
    a payment context of its own (context_of_caller) or a card under its mandate
    (mandated_card); a claim naming the other kind of subject is refused."""
    rule = subject_for(rpc, caller)
    context = None
    card_id = claim.card_id
    if claim.payment_context_id is not None:
        if rule != "context_of_caller":
            raise refuse_subject(rule, "this caller pays by card under its credit mandate")
        context = context_of_caller(
            caller, await qr_repo.get_context(session, claim.payment_context_id), claim.merchant_id)
        if now >= context.expires_at:
            raise DomainError("PAYMENT_CONTEXT_EXPIRED", "the payment context has expired")
        card_id = context.card_id
    else:
        if rule != "mandated_card":
            raise refuse_subject(rule, "this caller pays by the payment context of a scanned QR code")
        assert card_id is not None
        await mandated_card(session, caller, card_id, claim.merchant_id)
    card, insured = await payable_card(session, card_id)
    return Subject(card, insured, context)


async def terms_of(session: AsyncSession, subject: Subject, claim: cmd.Claim, on: date) -> Terms:
    wanted = (subject.insured.region_code, subject.card.insurance_type, claim.medical_type,
              claim.level, subject.insured.person_type)
    book = PolicyBook(await policy_repo.for_combination(session, *wanted))
    policy = book.select(*wanted, on)
    at_institution = True if claim.pooling_applies is None else claim.pooling_applies
    return terms_for(policy, pooling_applies_at_institution=at_institution)


def counter_key(subject: Subject, claim: cmd.Claim, at: datetime) -> CounterKey:
    return CounterKey(subject.insured.insured_id, benefit_year(at), subject.card.insurance_type,
                      counter_group(claim.medical_type))


def start_counters(counter: Counter, account: Account) -> Counters:
    """What a new claim adjudicates against: used + held counters, the available balance."""
    return Counters(deductible_used=counter.deductible_used + counter.deductible_held,
                    pooled_paid=counter.pooled_paid + counter.pooled_held,
                    balance=account.personal)


def fund_ratio(terms: Terms) -> int:
    return terms.fund_ratio_bp if terms.pooling_applies else 0


async def adjudicate_claim(deps: Deps, caller: Caller, claim: cmd.Claim) -> card_pb2.AdjudicateResponse:
    now = deps.now()
    at = claim.at or now
    async with deps.db.read() as session:
        subject = await subject_of(session, caller, "Adjudicate", claim, now)
        terms = await terms_of(session, subject, claim, business_date(at))
        counter = await counters_repo.read(session, counter_key(subject, claim, at))
        account = await ledger_repo.read_account(session, subject.insured.insured_id)
    split = adjudicate(claim.lines, terms, start_counters(counter, account),
                       use_account=claim.use_account)
    return card_pb2.AdjudicateResponse(split=render.claim_split(
        split, balance_after=account.balance - split.account_pay, fund_ratio_bp=fund_ratio(terms)))
