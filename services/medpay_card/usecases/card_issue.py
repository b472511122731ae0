"""IssueCard and ReissueCard: a CARD_ISSUE identity assertion buys a card and a device credential.

Order: replay an earlier identical request if there is one; check the assertion offline
(signature, expiry, purpose, audience, device) before looking at anything the request names,
so a caller without a valid assertion learns nothing about any person or card; then find the
person (or card) the assertion is about — a number or card id that is unknown, or belongs to
someone else, gets one and the same refusal; then what the proven person may be told (ended
insurance, a card already held), so an assertion is not used up by a request that would fail
anyway; consume the assertion once through identity (its request id is derived from ours, so
a retry replays there too); then, in one write transaction, re-check and create the card.

The device credential is never stored: only its hash and a random salt are. Its secret is
derived from the card id and that salt under the card service's key, so an idempotent
replay can return it again while the database alone never reveals it.
"""

from __future__ import annotations

import base64
import secrets

from sqlalchemy.exc import IntegrityError

from medpay.card.v1 import card_pb2
from medpay_card.adapters import card_repo, insured_repo
from medpay_card.adapters.card_repo import Card
from medpay_card.adapters.ids import new_id
from medpay_card.adapters.insured_repo import Insured
from medpay_card.domain import cards
from medpay_card.domain.persons import ensure_may_be_issued_a_card
from medpay_card.usecases import commands as cmd
from medpay_card.usecases.access import assertion_holder, insured_of, not_the_holder
from medpay_card.usecases.deps import Deps
from medpay_card.wire import render
from medpay_kit.assertions import AssertionClaims
from medpay_kit.auth import Caller, hash_secret
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import check_request_id

Response = card_pb2.IssueCardResponse | card_pb2.ReissueCardResponse


def _secret(deps: Deps, card_id: str, salt: bytes) -> str:
    raw = deps.keyring.mac("device-credential", card_id.encode() + b"\x00" + salt)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def device_credential(deps: Deps, card: Card) -> str:
    return f"dev_{card.device_id}.{_secret(deps, card.card_id, card.credential_salt)}"


def _scheme(insured: Insured, wanted: int | None) -> int:
    if wanted is None and len(insured.insurance_types) == 1:
        return insured.insurance_types[0]
    if wanted is None or wanted not in insured.insurance_types:
        raise DomainError("INVALID_ARGUMENT", "name one of the person's insurance types",
                          field="insurance_type")
    return wanted


async def _card_to_replace(session, caller: Caller, card_id: str, claims: AssertionClaims,  # type: ignore[no-untyped-def]
                           ) -> tuple[Card, Insured]:
    """The new phone calls with the app-client credential (no card yet): the assertion is
    the proof. An app calling with a device credential may re-issue only its own card.
    An unknown card and someone else's card are refused alike."""
    card = await card_repo.get(session, card_id)
    if card is None or (caller.scope and caller.scope != card_id):
        raise not_the_holder("card_id")
    insured = assertion_holder(claims, await insured_repo.get(session, card.insured_id), "card_id")
    return card, insured


async def _with_credential(deps: Deps, stored: Response) -> Response:
    async with deps.db.read() as session:
        card = await card_repo.get(session, stored.card.card_id)
    assert card is not None
    stored.device_credential = device_credential(deps, card)
    return stored


async def _replay(deps: Deps, namespace: str, method: str, request, response_type):  # type: ignore[no-untyped-def]
    async with deps.db.read() as session:
        earlier = await deps.idem.recall(session, namespace, method, request.request_id, request,
                                         response_type)
    return await _with_credential(deps, earlier) if earlier is not None else None


def _new_card(deps: Deps, insured: Insured, scheme: int, device_id: str,
              replaces: str | None) -> Card:
    card_id, salt, now = new_id("card"), secrets.token_bytes(16), deps.now()
    return Card(card_id=card_id, insured_id=insured.insured_id, status=cards.ACTIVE,
                insurance_type=scheme, device_id=device_id,
                credential_hash=hash_secret(_secret(deps, card_id, salt)), credential_salt=salt,
                replaces_card_id=replaces, status_reason="", status_changed_by=None,
                issued_at=now, status_changed_at=now)


async def issue_card(deps: Deps, caller: Caller, command: cmd.IssueCard,
                     request: card_pb2.IssueCardRequest) -> card_pb2.IssueCardResponse:
    check_request_id(request.request_id)
    namespace = f"{caller.key}:{command.device_id}"
    replay = await _replay(deps, namespace, "IssueCard", request, card_pb2.IssueCardResponse)
    if replay is not None:
        return replay
    claims = await deps.verifier.check(command.assertion, purpose="CARD_ISSUE",
                                       device_id=command.device_id)
    number_hash = deps.personal.person_number_hash(command.person_number)
    async with deps.db.read() as session:
        insured = assertion_holder(claims, await insured_repo.get_by_number_hash(session, number_hash),
                          "person_number")
        ensure_may_be_issued_a_card(insured.status)
        scheme = _scheme(insured, command.insurance_type)
        if await card_repo.live_card_of(session, insured.insured_id) is not None:
            raise DomainError("CARD_ALREADY_ISSUED", "this person already holds a card")
    await deps.verifier.consume(
        command.assertion, purpose="CARD_ISSUE", device_id=command.device_id,
        request_id=f"IssueCard:{namespace}:{request.request_id}")
    try:
        async with deps.db.write() as session:
            earlier = await deps.idem.recall(session, namespace, "IssueCard", request.request_id,
                                             request, card_pb2.IssueCardResponse)
            if earlier is None:
                insured = await insured_of(session, insured.insured_id)
                ensure_may_be_issued_a_card(insured.status)
                if await card_repo.live_card_of(session, insured.insured_id) is not None:
                    raise DomainError("CARD_ALREADY_ISSUED", "this person already holds a card")
                card = _new_card(deps, insured, scheme, command.device_id, None)
                await card_repo.insert(session, card)
                earlier = card_pb2.IssueCardResponse(
                    card=render.card(card, insured, deps.personal.masked_name(insured)))
                await deps.idem.remember(session, namespace, "IssueCard", request.request_id,
                                         request, earlier)
    except IntegrityError:
        replay = await _replay(deps, namespace, "IssueCard", request, card_pb2.IssueCardResponse)
        if replay is None:
            raise DomainError("CARD_ALREADY_ISSUED", "this person already holds a card") from None
        return replay
    return await _with_credential(deps, earlier)


async def reissue_card(deps: Deps, caller: Caller, command: cmd.ReissueCard,
                       request: card_pb2.ReissueCardRequest) -> card_pb2.ReissueCardResponse:
    """The old card becomes REPLACED and its credential stops working in the same transaction."""
    check_request_id(request.request_id)
    namespace = f"{caller.key}:{command.device_id}"
    replay = await _replay(deps, namespace, "ReissueCard", request, card_pb2.ReissueCardResponse)
    if replay is not None:
        return replay
    claims = await deps.verifier.check(command.assertion, purpose="CARD_ISSUE",
                                       device_id=command.device_id)
    async with deps.db.read() as session:
        old, insured = await _card_to_replace(session, caller, command.card_id, claims)
        cards.replace(old.status)  # refuses a revoked or replaced card before the assertion is used
        ensure_may_be_issued_a_card(insured.status)
    await deps.verifier.consume(
        command.assertion, purpose="CARD_ISSUE", device_id=command.device_id,
        request_id=f"ReissueCard:{namespace}:{request.request_id}")
    try:
        async with deps.db.write() as session:
            earlier = await deps.idem.recall(session, namespace, "ReissueCard", request.request_id,
                                             request, card_pb2.ReissueCardResponse)
            if earlier is None:
                for _ in range(3):  # e.g. suspended meanwhile: replace it as it is now
                    old, _ = await _card_to_replace(session, caller, command.card_id, claims)
                    if await card_repo.set_status(session, old.card_id, expected=old.status,
                                                  status=cards.replace(old.status),
                                                  reason="re-issued", by=cards.BY_APP,
                                                  now=deps.now()):
                        break
                else:
                    raise DomainError("REQUEST_IN_PROGRESS", "the card keeps changing; try again")
                card = _new_card(deps, insured, old.insurance_type, command.device_id, old.card_id)
                await card_repo.insert(session, card)
                earlier = card_pb2.ReissueCardResponse(
                    card=render.card(card, insured, deps.personal.masked_name(insured)))
                await deps.idem.remember(session, namespace, "ReissueCard", request.request_id,
                                         request, earlier)
    except IntegrityError:
        replay = await _replay(deps, namespace, "ReissueCard", request,
                               card_pb2.ReissueCardResponse)
        if replay is None:
            raise DomainError("CARD_REVOKED", "the card was re-issued by another request") from None
        return replay
    return await _with_credential(deps, earlier)


async def first_of_twins(deps: Deps, caller: Caller, device_id: str, method: str, request,  # type: ignore[no-untyped-def]
                         response_type, attempt):
    """Run ``attempt``; a refusal a twin earns from the first call's card
    (``CARD_ALREADY_ISSUED``, ``CARD_REVOKED``) is answered with the first reply instead."""
    try:
        return await attempt()
    except DomainError:
        replay = await _replay(deps, f"{caller.key}:{device_id}", method, request, response_type)
        if replay is None:
            raise
        return replay
