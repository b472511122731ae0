"""Benefit policies: loaded from the shipped data file at start, added by the operator.

Versions are immutable: storing the identical version again changes nothing; a different
content under the same (policy_id, version), or a second policy of the same version for
the same combination over overlapping dates, is ALREADY_EXISTS (``PolicyBook.add``).
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.card.v1 import card_pb2
from medpay_card.adapters import policy_repo
from medpay_card.domain.policy import BenefitPolicy, PolicyBook
from medpay_card.usecases.deps import Deps
from medpay_card.wire import render
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError

log = structlog.get_logger()


async def _store(session: AsyncSession, policy: BenefitPolicy, *, source: str, now) -> bool:  # type: ignore[no-untyped-def]
    """Add one version; False when the identical version is already stored."""
    if await policy_repo.get(session, policy.policy_id, policy.version) == policy:
        return False
    same_combination = await policy_repo.for_combination(
        session, policy.region_code, policy.insurance_type, policy.medical_type,
        policy.institution_level, policy.person_type)
    stored = await policy_repo.get(session, policy.policy_id, policy.version)
    book = PolicyBook([*same_combination, *([stored] if stored else [])])
    book.add(policy)  # ALREADY_EXISTS on a conflicting version
    await policy_repo.insert(session, policy, source=source, now=now)
    return True


async def load_file(deps: Deps, path: Path) -> int:
    """Load the policy file into the database; returns how many versions were new.

    A version already stored with other content keeps the stored content (versions are
    immutable) and is reported in the log; the service still starts.
    """
    added = 0
    for attempt in range(2):
        try:
            async with deps.db.write() as session:
                added = 0
                for policy in PolicyBook.load_toml(path):
                    try:  # _store refuses before it writes anything
                        added += await _store(session, policy, source="file", now=deps.now())
                    except DomainError as exc:
                        log.error("policy_file_version_conflict", policy_id=policy.policy_id,
                                  version=policy.version, detail=exc.message)
            break
        except IntegrityError:  # another replica loaded the file at the same time
            if attempt:
                raise
    log.info("policies_loaded", file=path.name, added=added)
    return added


async def put_policy(deps: Deps, caller: Caller, policy: BenefitPolicy,
                     request: card_pb2.PutPolicyRequest) -> card_pb2.PutPolicyResponse:
    async def work(session: AsyncSession) -> card_pb2.PutPolicyResponse:
        created = await _store(session, policy, source="operator", now=deps.now())
        return card_pb2.PutPolicyResponse(policy=render.policy(policy), created=created)

    return await deps.idem.run(deps.db, caller.key, "PutPolicy", request,
                               card_pb2.PutPolicyResponse, work)


def _page_token(policy: BenefitPolicy) -> str:
    return base64.urlsafe_b64encode(json.dumps([policy.policy_id, policy.version]).encode()).decode()


def _read_page_token(token: str) -> tuple[str, int] | None:
    if not token:
        return None
    try:
        policy_id, version = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(policy_id, str) and isinstance(version, int):
            return policy_id, version
    except (binascii.Error, ValueError, TypeError):
        pass
    raise DomainError("INVALID_ARGUMENT", "page_token is not valid", field="page_token")


async def list_policies(deps: Deps, *, page_size: int, page_token: str, region: str | None,
                        insurance_type: int | None,
                        medical_type: str | None) -> card_pb2.ListPoliciesResponse:
    after = _read_page_token(page_token)
    async with deps.db.read() as session:
        found = await policy_repo.page(session, after=after, limit=page_size + 1, region=region,
                                       insurance_type=insurance_type, medical_type=medical_type)
    more = len(found) > page_size
    found = found[:page_size]
    return card_pb2.ListPoliciesResponse(
        policies=[render.policy(p) for p in found],
        next_page_token=_page_token(found[-1]) if more else "")
