"""HIS use cases: opening visits and listing them."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.billing.v1 import billing_pb2 as pb
from medpay.card.v1 import card_pb2
from medpay.common.v1 import insurance_pb2
from medpay_billing import convert
from medpay_billing.adapters.rows import aware, new_id, page_size
from medpay_billing.adapters.tables import appointments, visits
from medpay_billing.domain.agreement import AgreementStatus, require_open_for_visits
from medpay_billing.domain.dates import business_day, parse_date
from medpay_billing.domain.visit import VisitStatus
from medpay_billing.usecases.agreements import live_agreement
from medpay_billing.usecases.appointments import check_department
from medpay_billing.usecases.deps import Deps, hospital_of
from medpay_billing.usecases.registry import hospital_row
from medpay_kit.auth import Caller, current_caller
from medpay_kit.errors import DomainError
from medpay_kit.paging import decode_token, encode_token

log = structlog.get_logger()
V, P = visits.c, appointments.c
MEDICAL_TYPES = {insurance_pb2.MEDICAL_TYPE_UNSPECIFIED: insurance_pb2.MEDICAL_TYPE_OUTPATIENT,
                 insurance_pb2.MEDICAL_TYPE_OUTPATIENT: insurance_pb2.MEDICAL_TYPE_OUTPATIENT,
                 insurance_pb2.MEDICAL_TYPE_INPATIENT: insurance_pb2.MEDICAL_TYPE_INPATIENT}


def _card_usable(status: int) -> None:
    if status == card_pb2.CARD_STATUS_SUSPENDED:
        raise DomainError("CARD_SUSPENDED", "the card is suspended")
    if status != card_pb2.CARD_STATUS_ACTIVE:
        raise DomainError("CARD_REVOKED", "the card is no longer valid")


async def _open_for_visits(deps: Deps, card_id: str, code: str) -> None:
    """The card's agreement with this hospital is ACTIVE. An unknown card has none, so it is
    refused exactly like a card without an agreement: the answer says nothing about the card."""
    async with deps.db.read() as session:
        agreement = await live_agreement(session, card_id, code)
    require_open_for_visits(AgreementStatus(agreement.status) if agreement else None)


async def _patient(deps: Deps, code: str, request: pb.OpenVisitRequest) -> tuple[str, str, int, Row | None]:
    """``(card_id, masked_name, insurance_type, appointment)`` of the patient.

    Everything that does not depend on the QR code is checked before the code is used up:
    the card behind it is read without consuming it (``validate_only``), its agreement is
    checked, and only then is the code exchanged.
    """
    source = request.WhichOneof("source")
    appointment = None
    if source == "appointment_id":
        async with deps.db.read() as session:
            appointment = (await session.execute(select(appointments).where(
                P.appointment_id == request.appointment_id))).first()
        if appointment is None or appointment.institution_code != code:
            raise DomainError("APPOINTMENT_NOT_FOUND", "no such appointment at this hospital")
        if appointment.status != "BOOKED":
            raise DomainError("APPOINTMENT_NOT_CANCELLABLE", "the appointment was cancelled or used")
        await _open_for_visits(deps, appointment.card_id, code)
        card = await deps.card.get_card(appointment.card_id)
    elif source == "qr_payload":
        resolve_id = f"{code}:{request.request_id}"
        seen = await deps.card.resolve_qr(resolve_id, request.qr_payload, code, validate_only=True)
        await _open_for_visits(deps, seen.card_id, code)
        context = await deps.card.resolve_qr(resolve_id, request.qr_payload, code)
        return context.card_id, context.masked_name, context.insurance_type, None
    elif source == "card_id":
        if not request.card_id or len(request.card_id) > 64:
            raise DomainError("INVALID_ARGUMENT", "card_id is not valid", field="card_id")
        await _open_for_visits(deps, request.card_id, code)
        card = await deps.card.get_card(request.card_id)
    else:
        raise DomainError("INVALID_ARGUMENT", "appointment_id, qr_payload or card_id is required",
                          field="source")
    _card_usable(card.status)
    return card.card_id, card.masked_name, card.insurance_type, appointment


async def open_visit(deps: Deps, request: pb.OpenVisitRequest) -> pb.OpenVisitResponse:
    caller = current_caller()
    return await deps.first(caller, "OpenVisit", request, pb.OpenVisitResponse,
                            lambda: _open_visit(deps, caller, request))


async def _open_visit(deps: Deps, caller: Caller, request: pb.OpenVisitRequest) -> pb.OpenVisitResponse:
    code = hospital_of(caller)
    medical_type = MEDICAL_TYPES.get(request.medical_type)
    if medical_type is None:
        raise DomainError("INVALID_ARGUMENT", "medical_type must be OUTPATIENT or INPATIENT",
                          field="medical_type")
    if request.department or request.WhichOneof("source") != "appointment_id":
        check_department(request.department)
    async with deps.db.read() as session:
        await hospital_row(session, code)
    card_id, masked_name, insurance_type, appointment = await _patient(deps, code, request)
    department = request.department.strip() or (appointment.department if appointment else "")

    async def work(session: AsyncSession) -> pb.OpenVisitResponse:
        await hospital_row(session, code)
        agreement = await live_agreement(session, card_id, code)
        require_open_for_visits(AgreementStatus(agreement.status) if agreement else None)
        now = deps.now()
        visit_id = new_id("MD", now)
        if appointment is not None:
            moved = await session.execute(update(appointments).where(
                P.appointment_id == appointment.appointment_id, P.status == "BOOKED")
                .values(status="CHECKED_IN", visit_id=visit_id))
            if moved.rowcount != 1:
                raise DomainError("APPOINTMENT_NOT_CANCELLABLE", "the appointment was cancelled or used")
        await session.execute(visits.insert().values(
            visit_id=visit_id, institution_code=code, card_id=card_id,
            agreement_id=agreement.agreement_id,  # type: ignore[union-attr]
            appointment_id=appointment.appointment_id if appointment else "",
            department=department, medical_type=medical_type, status=VisitStatus.OPEN.value,
            masked_name=masked_name, insurance_type=insurance_type, opened_at=now,
            opened_date=business_day(now).isoformat(), charged_total_fen=0, reserved_fen=0,
            lines_version=0, next_line_no=1, bill_id="", close_attempt=0, close_step="",
            hold_id="", lease_owner=""))
        row = (await session.execute(select(visits).where(V.visit_id == visit_id))).one()
        log.info("visit_opened", visit_id=visit_id, institution_code=code)
        return pb.OpenVisitResponse(visit=convert.visit(row))

    return await deps.once(caller, "OpenVisit", request, pb.OpenVisitResponse, work)


async def list_visits(deps: Deps, request: pb.ListVisitsRequest) -> pb.ListVisitsResponse:
    caller = current_caller()
    code = hospital_of(caller)
    limit = page_size(request.page_size)
    after = decode_token(request.page_token, 2)
    query = select(visits).where(V.institution_code == code)
    if request.status:
        query = query.where(V.status == convert.enum_name(pb.VisitStatus, request.status, "status"))
    if request.opened_date:
        query = query.where(V.opened_date == parse_date(request.opened_date, "opened_date").isoformat())
    if after is not None:
        at = datetime.fromisoformat(after[0])
        query = query.where(or_(V.opened_at < at, and_(V.opened_at == at, V.visit_id < after[1])))
    async with deps.db.read() as session:
        rows = (await session.execute(query.order_by(V.opened_at.desc(), V.visit_id.desc())
                                      .limit(limit + 1))).all()
    token = ""
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        token = encode_token(aware(last.opened_at).isoformat(), last.visit_id)  # type: ignore[union-attr]
    return pb.ListVisitsResponse(visits=[convert.visit(r) for r in rows], next_page_token=token)
