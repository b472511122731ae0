"""What PreSettle and Settle share: the payment oneof, the priced basket, the scanned code's
payment context, replays."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import IdempotencyStore
from medpay_pharmacy.adapters import registry as repo
from medpay_pharmacy.adapters import settlements
from medpay_pharmacy.adapters.tables import idempotency
from medpay_pharmacy.domain.basket import PricedLine, SaleLineInput, check_basket_size, price_basket
from medpay_pharmacy.usecases.deps import Deps
from medpay_pharmacy.usecases.registry import require_pharmacy

M = TypeVar("M", bound=Message)
MAX_QR = 4096
MAX_CONTEXT_ID = 128
MAX_PAYER_REFERENCE = 128
#: how far the clock may have stepped back between a context's exchange and its sale
CLOCK_STEP = timedelta(minutes=10)


def check_payment(request: pb.PreSettleRequest | pb.SettleRequest) -> None:
    which = request.WhichOneof("payment")
    if which == "qr_payload":
        if not request.qr_payload or len(request.qr_payload) > MAX_QR:
            raise DomainError("QR_INVALID", "the QR payload is malformed", field="qr_payload")
    elif which == "payment_context_id":
        if not request.payment_context_id or len(request.payment_context_id) > MAX_CONTEXT_ID:
            raise DomainError("PAYMENT_CONTEXT_INVALID", "the payment context id is malformed",
                              field="payment_context_id")
    else:
        raise DomainError("INVALID_ARGUMENT", "a qr_payload or a payment_context_id is required",
                          field="payment")


async def price(deps: Deps, code: str, lines: Sequence[pb.SaleLine]) -> tuple[Row, tuple[PricedLine, ...]]:
    """The pharmacy and the basket priced from its catalogue (refusals name the line)."""
    check_basket_size(len(lines), deps.settings.max_lines)
    async with deps.db.read() as session:
        return await price_in(session, deps, code, lines)


async def price_in(session: AsyncSession, deps: Deps, code: str,
                   lines: Sequence[pb.SaleLine]) -> tuple[Row, tuple[PricedLine, ...]]:
    """``price`` inside a read session the caller already has open."""
    check_basket_size(len(lines), deps.settings.max_lines)
    inputs = [SaleLineInput(line.line_no, line.item_code, line.quantity, line.unit_price)
              for line in lines]
    pharmacy = await require_pharmacy(session, code)
    catalogue = await repo.catalogue_for(session, code, (i.item_code for i in inputs))
    priced = price_basket(inputs, catalogue, max_lines=deps.settings.max_lines,
                          max_quantity=deps.settings.max_quantity)
    return pharmacy, priced


async def context_row(deps: Deps, context_id: str, code: str) -> Row:
    async with deps.db.read() as session:
        return await context_row_in(session, context_id, code)


async def context_row_in(session: AsyncSession, context_id: str, code: str) -> Row:
    row = await repo.get_context(session, context_id, code)
    if row is None:
        raise DomainError("PAYMENT_CONTEXT_INVALID", "unknown payment context for this pharmacy",
                          field="payment_context_id")
    return row


def exchange_request_id(code: str, qr_payload: str) -> str:
    """The issuer-side request id of exchanging a scanned code at this pharmacy.

    It names the code (its one canonical payload), not the till's request: every scan of
    one code at one pharmacy, by PreSettle or Settle under any request_id, gets the same
    payment context back from card. So exchanging uses the code up for other merchants
    only; here it is spent when its context pays (card's Authorize, after every other
    check), and a sale refused for anything else can be corrected and tried again with
    the same code. A hash, so no payload reaches card's records or any log.
    """
    return f"{code}:qr:{hashlib.sha256(qr_payload.encode()).hexdigest()[:40]}"


async def exchange_qr(deps: Deps, code: str, qr_payload: str):  # type: ignore[no-untyped-def]
    """The payment context of a scanned code at this pharmacy (card's, remembered here)."""
    context = await deps.card.resolve_qr(exchange_request_id(code, qr_payload), qr_payload, code)
    await remember_context(deps, code, context)
    return context


async def ensure_unspent(session: AsyncSession, code: str, context: Row) -> None:
    """A scanned code whose payment context pays, or paid, a settlement here is used up."""
    if await settlements.paying_with(session, code, context.payment_context_id,
                                     context.created_at - CLOCK_STEP) is not None:
        raise DomainError("QR_ALREADY_USED", "the QR code was already used")


async def remember_context(deps: Deps, code: str, context) -> None:  # type: ignore[no-untyped-def]
    try:
        async with deps.db.write() as session:
            await repo.save_context(session, context.payment_context_id, code,
                                    context.masked_name, context.insurance_type,
                                    context.expires_at.ToDatetime(tzinfo=deps.now().tzinfo),
                                    deps.now())
    except IntegrityError:
        pass  # a concurrent retry stored the same context


class Replays:
    """Idempotency for calls whose work happens outside the database (peer calls).

    Twins may run the work side by side (the peer calls are idempotent themselves); the
    first to store its response wins and every twin answers that one (``first_reply``).
    """

    def __init__(self, deps: Deps) -> None:
        self._d = deps
        self._store = IdempotencyStore(idempotency)

    async def run(self, caller_key: str, method: str, request: Message, response_type: type[M],
                  work: Callable[[], Awaitable[M]]) -> M:
        async def attempt() -> M:
            return await self._store.remember_once(self._d.db, caller_key, method, request,
                                                   response_type, await work())

        return await self._store.first_reply(self._d.db, caller_key, method, request,
                                             response_type, attempt)
