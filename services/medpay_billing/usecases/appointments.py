"""App use cases: booking and cancelling appointment slots."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.billing.v1 import billing_pb2 as pb
from medpay_billing import convert
from medpay_billing.adapters.rows import aware, new_id
from medpay_billing.adapters.tables import appointments, hospitals
from medpay_billing.usecases.deps import Deps
from medpay_billing.usecases.registry import check_code, hospital_row
from medpay_billing.usecases.scope import own_card
from medpay_kit.auth import current_caller
from medpay_kit.errors import DomainError

P = appointments.c
TAKEN = ("BOOKED", "CHECKED_IN")


def check_department(department: str) -> str:
    department = department.strip()
    if not department or len(department) > 64 or not department.isprintable():
        raise DomainError("INVALID_ARGUMENT", "department is required (at most 64 characters)",
                          field="department")
    return department


async def book(deps: Deps, request: pb.BookAppointmentRequest) -> pb.BookAppointmentResponse:
    caller = current_caller()
    code = check_code(request.institution_code)
    department = check_department(request.department)
    if not request.HasField("slot_start"):
        raise DomainError("INVALID_ARGUMENT", "slot_start is required", field="slot_start")
    slot = request.slot_start.ToDatetime(tzinfo=deps.now().tzinfo)

    async def work(session: AsyncSession) -> pb.BookAppointmentResponse:
        await hospital_row(session, code)
        # the hospital row's lock serialises bookings, so a slot is never overbooked
        await session.execute(update(hospitals).where(hospitals.c.institution_code == code)
                              .values(updated_at=hospitals.c.updated_at))
        now = deps.now()
        if slot <= now:
            raise DomainError("SLOT_UNAVAILABLE", "the slot is in the past")
        taken = (await session.execute(select(func.count()).select_from(appointments).where(
            P.institution_code == code, P.department == department, P.slot_start == slot,
            P.status.in_(TAKEN)))).scalar_one()
        if taken >= deps.settings.slot_capacity:
            raise DomainError("SLOT_UNAVAILABLE", "the slot is full")
        appointment_id = new_id("AP", now)
        await session.execute(appointments.insert().values(
            appointment_id=appointment_id, institution_code=code, card_id=caller.scope,
            department=department, slot_start=slot, status="BOOKED", visit_id="", created_at=now))
        row = (await session.execute(select(appointments).where(
            P.appointment_id == appointment_id))).one()
        return pb.BookAppointmentResponse(appointment=convert.appointment(row))

    return await deps.once(caller, "BookAppointment", request, pb.BookAppointmentResponse, work)


async def cancel(deps: Deps, request: pb.CancelAppointmentRequest) -> pb.CancelAppointmentResponse:
    caller = current_caller()

    async def work(session: AsyncSession) -> pb.CancelAppointmentResponse:
        row = (await session.execute(select(appointments).where(
            P.appointment_id == request.appointment_id))).first()
        if row is None or not own_card(caller, row.card_id):
            raise DomainError("APPOINTMENT_NOT_FOUND", "no such appointment for this card")
        if row.status != "BOOKED":
            raise DomainError("APPOINTMENT_NOT_CANCELLABLE",
                              f"the appointment is {row.status.lower().replace('_', ' ')}")
        if aware(row.slot_start) <= deps.now():  # type: ignore[operator]
            raise DomainError("APPOINTMENT_NOT_CANCELLABLE", "the slot has already started")
        await session.execute(update(appointments).where(
            P.appointment_id == row.appointment_id).values(status="CANCELLED"))
        row = (await session.execute(select(appointments).where(
            P.appointment_id == row.appointment_id))).one()
        return pb.CancelAppointmentResponse(appointment=convert.appointment(row))

    return await deps.once(caller, "CancelAppointment", request, pb.CancelAppointmentResponse, work)
