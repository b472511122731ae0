"""GetSigningKeys and RotateSigningKey."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.identity.v1 import identity_pb2
from medpay_identity.adapters.audit import AuditRecord
from medpay_identity.adapters.signing_keys import ALGORITHM
from medpay_identity.usecases.context import IdentityContext, timestamp
from medpay_kit.auth import Caller

log = structlog.get_logger()


async def get_signing_keys(ctx: IdentityContext) -> identity_pb2.GetSigningKeysResponse:
    async with ctx.db.read() as session:
        keys = await ctx.keys.published(session, ctx.clock.now())
    return identity_pb2.GetSigningKeysResponse(keys=[
        identity_pb2.SigningKey(key_id=k.key_id, algorithm=ALGORITHM, public_key=k.public_key,
                                created_at=timestamp(k.created_at), active=k.active)
        for k in keys])


async def rotate_signing_key(ctx: IdentityContext, caller: Caller,
                             request: identity_pb2.RotateSigningKeyRequest,
                             ) -> identity_pb2.RotateSigningKeyResponse:
    async def work(session: AsyncSession) -> identity_pb2.RotateSigningKeyResponse:
        now = ctx.clock.now()
        new_id, previous_id = await ctx.keys.rotate(session, now)
        await ctx.audit.record(session, AuditRecord(
            "KEY_ROTATED", caller.principal, now, detail=f"{previous_id} -> {new_id}"))
        log.info("signing_key_rotated", key_id=new_id, previous_key_id=previous_id)
        return identity_pb2.RotateSigningKeyResponse(key_id=new_id, previous_key_id=previous_id)

    return await ctx.idempotency.run(ctx.db, caller.key, "RotateSigningKey", request,
                                     identity_pb2.RotateSigningKeyResponse, work)
