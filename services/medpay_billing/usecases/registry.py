"""Operator use cases: hospitals and their HIS clients."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.billing.v1 import billing_pb2 as pb
from medpay.common.v1 import insurance_pb2
from medpay_billing import convert
from medpay_billing.adapters.tables import his_clients, hospitals
from medpay_billing.usecases.deps import Deps
from medpay_kit.auth import current_caller, issue_credential
from medpay_kit.errors import DomainError

CODE = re.compile(r"^[A-Z0-9]{12}$")
REGION = re.compile(r"^\d{6}$")
CREDENTIAL_CONTEXT = b"billing.his-credential"
LEVELS = frozenset(v for v in insurance_pb2.InstitutionLevel.values() if v)


def check_code(code: str, field: str = "institution_code") -> str:
    if not CODE.match(code):
        raise DomainError("INVALID_ARGUMENT", f"{field} must be 12 capital letters or digits",
                          field=field)
    return code


def _settings(request: pb.RegisterHospitalRequest) -> dict[str, object]:
    if not request.HasField("credit_settings"):
        raise DomainError("INVALID_ARGUMENT", "credit_settings is required", field="credit_settings")
    cs = request.credit_settings
    limit = convert.fen_of(cs.credit_limit, "credit_settings.credit_limit")
    if limit > 100_000_000:
        raise DomainError("INVALID_ARGUMENT", "credit_limit is larger than 1,000,000 yuan",
                          field="credit_settings.credit_limit")
    if not 0 <= cs.grace_days <= 365:
        raise DomainError("INVALID_ARGUMENT", "grace_days must be 0..365",
                          field="credit_settings.grace_days")
    if not 1 <= cs.blacklist_after_overdue_days <= 3650:
        raise DomainError("INVALID_ARGUMENT", "blacklist_after_overdue_days must be 1..3650",
                          field="credit_settings.blacklist_after_overdue_days")
    return {"credit_limit_fen": limit, "grace_days": cs.grace_days, "auto_debit": cs.auto_debit,
            "blacklist_after_overdue_days": cs.blacklist_after_overdue_days}


async def register_hospital(deps: Deps, request: pb.RegisterHospitalRequest,
                            ) -> pb.RegisterHospitalResponse:
    caller = current_caller()
    code = check_code(request.institution_code)
    name = request.name.strip()
    if not name or len(name) > 128:
        raise DomainError("INVALID_ARGUMENT", "name is required (at most 128 characters)", field="name")
    if request.level not in LEVELS:
        raise DomainError("INVALID_ARGUMENT", "level is required", field="level")
    if not REGION.match(request.region_code):
        raise DomainError("INVALID_ARGUMENT", "region_code must be 6 digits", field="region_code")
    values = {"name": name, "level": request.level, "region_code": request.region_code,
              **_settings(request)}

    async def work(session: AsyncSession) -> pb.RegisterHospitalResponse:
        now = deps.now()
        existing = (await session.execute(select(hospitals.c.institution_code).where(
            hospitals.c.institution_code == code))).first()
        if existing is None:
            await session.execute(hospitals.insert().values(
                institution_code=code, last_event_id=0, registered_at=now, updated_at=now,
                **values))
        else:
            await session.execute(update(hospitals).where(
                hospitals.c.institution_code == code).values(updated_at=now, **values))
        row = (await session.execute(select(hospitals).where(
            hospitals.c.institution_code == code))).one()
        return pb.RegisterHospitalResponse(hospital=convert.hospital(row),
                                           created=existing is None)

    return await deps.once(caller, "RegisterHospital", request, pb.RegisterHospitalResponse, work)


async def register_his_client(deps: Deps, request: pb.RegisterHisClientRequest,
                              ) -> pb.RegisterHisClientResponse:
    """The credential is kept only hashed; the stored replay holds it encrypted."""
    caller = current_caller()
    code = check_code(request.institution_code)
    label = request.client_label.strip()
    if len(label) > 128:
        raise DomainError("INVALID_ARGUMENT", "client_label is at most 128 characters",
                          field="client_label")

    async def work(session: AsyncSession) -> pb.RegisterHisClientResponse:
        if (await session.execute(select(hospitals.c.institution_code).where(
                hospitals.c.institution_code == code))).first() is None:
            raise DomainError("HOSPITAL_NOT_FOUND", "no hospital with that institution code")
        client_id = f"HIS{secrets.token_hex(8).upper()}"
        issued = issue_credential("his", client_id)
        await session.execute(his_clients.insert().values(
            client_id=client_id, institution_code=code, label=label or "HIS",
            secret_hash=issued.secret_hash, created_at=deps.now()))
        sealed = deps.keyring.encrypt(issued.token.encode(), CREDENTIAL_CONTEXT)
        return pb.RegisterHisClientResponse(client_id=client_id, credential=sealed.hex())

    stored = await deps.once(caller, "RegisterHisClient", request, pb.RegisterHisClientResponse, work)
    token = deps.keyring.decrypt(bytes.fromhex(stored.credential), CREDENTIAL_CONTEXT)
    return pb.RegisterHisClientResponse(client_id=stored.client_id, credential=token.decode())


async def hospital_row(session: AsyncSession, code: str):  # type: ignore[no-untyped-def]
    row = (await session.execute(select(hospitals).where(
        hospitals.c.institution_code == code))).first()
    if row is None:
        raise DomainError("HOSPITAL_NOT_FOUND", "no hospital with that institution code")
    return row
