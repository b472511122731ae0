"""App use cases: the credit agreement (EnrollCreditCare, GetCreditAgreement)."""

from __future__ import annotations

import structlog
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.billing.v1 import billing_pb2 as pb
from medpay.card.v1 import card_pb2
from medpay_billing import convert
from medpay_billing.adapters.callers import device_of_call
from medpay_billing.adapters.rows import new_id
from medpay_billing.adapters.tables import agreements
from medpay_billing.domain.agreement import AgreementStatus
from medpay_billing.usecases.deps import Deps
from medpay_billing.usecases.registry import check_code, hospital_row
from medpay_billing.usecases.scope import own_card
from medpay_kit.auth import Caller, current_caller
from medpay_kit.errors import DomainError

log = structlog.get_logger()
A = agreements.c


def live_key(card_id: str, code: str) -> str:
    return f"{card_id}|{code}"


async def live_agreement(session: AsyncSession, card_id: str, code: str) -> Row | None:
    return (await session.execute(select(agreements).where(
        A.live_key == live_key(card_id, code)))).first()


async def enroll(deps: Deps, request: pb.EnrollCreditCareRequest) -> pb.EnrollCreditCareResponse:
    caller = current_caller()
    return await deps.first(caller, "EnrollCreditCare", request, pb.EnrollCreditCareResponse,
                            lambda: _enroll(deps, caller, request))


async def _enroll(deps: Deps, caller: Caller,
                  request: pb.EnrollCreditCareRequest) -> pb.EnrollCreditCareResponse:
    device = device_of_call()
    code = check_code(request.institution_code)
    if len(request.payer_reference) > 128 or not request.payer_reference.isprintable():
        raise DomainError("INVALID_ARGUMENT", "payer_reference is at most 128 printable characters",
                          field="payer_reference")
    if not request.assertion:
        raise DomainError("INVALID_ARGUMENT", "assertion is required", field="assertion")
    if device.card_status != card_pb2.CARD_STATUS_ACTIVE:
        raise DomainError("CARD_SUSPENDED", "the card is not active")
    async with deps.db.read() as session:
        await hospital_row(session, code)
        if await live_agreement(session, device.card_id, code) is not None:
            raise DomainError("AGREEMENT_EXISTS", "a credit agreement with this hospital exists")
    # checked offline first, so an assertion about someone else is refused, not used up
    claims = await deps.assertions.check(request.assertion, purpose="CREDIT_AGREEMENT",
                                         device_id=device.device_id)
    if not device.identity_person_id or claims.person_id != device.identity_person_id:
        raise DomainError("PERMISSION_DENIED", "the assertion is not about the card holder")
    await deps.assertions.consume(
        request.assertion, purpose="CREDIT_AGREEMENT",
        request_id=f"{device.card_id}:{request.request_id}", device_id=device.device_id)
    # card settles by card id only under a mandate it checked itself: forward the proof
    await deps.card.register_mandate(f"billing:{device.card_id}:{request.request_id}:mandate",
                                     device.card_id, code, request.assertion)

    async def work(session: AsyncSession) -> pb.EnrollCreditCareResponse:
        hospital = await hospital_row(session, code)
        if await live_agreement(session, device.card_id, code) is not None:
            raise DomainError("AGREEMENT_EXISTS", "a credit agreement with this hospital exists")
        now = deps.now()
        agreement_id = new_id("CA", now)
        await session.execute(agreements.insert().values(
            agreement_id=agreement_id, institution_code=code, card_id=device.card_id,
            live_key=live_key(device.card_id, code), status=AgreementStatus.ACTIVE.value,
            limit_fen=hospital.credit_limit_fen, used_fen=0,
            payer_reference=request.payer_reference.strip(),
            auto_debit=request.auto_debit and hospital.auto_debit,
            use_personal_account=request.use_personal_account, created_at=now, updated_at=now))
        row = (await session.execute(select(agreements).where(
            A.agreement_id == agreement_id))).one()
        log.info("agreement_signed", agreement_id=agreement_id, institution_code=code,
                 method=claims.method)
        return pb.EnrollCreditCareResponse(agreement=convert.agreement(row))

    return await deps.once(caller, "EnrollCreditCare", request, pb.EnrollCreditCareResponse, work)


async def get(deps: Deps, request: pb.GetCreditAgreementRequest) -> pb.GetCreditAgreementResponse:
    caller = current_caller()
    async with deps.db.read() as session:
        which = request.WhichOneof("key")
        if which == "agreement_id":
            row = (await session.execute(select(agreements).where(
                A.agreement_id == request.agreement_id))).first()
        elif which == "institution_code":
            row = await live_agreement(session, caller.scope, request.institution_code)
        else:
            raise DomainError("INVALID_ARGUMENT", "agreement_id or institution_code is required",
                              field="key")
    if row is None or not own_card(caller, row.card_id):
        raise DomainError("AGREEMENT_NOT_FOUND", "no such credit agreement for this card")
    return pb.GetCreditAgreementResponse(agreement=convert.agreement(row))
