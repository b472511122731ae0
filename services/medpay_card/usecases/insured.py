"""ImportInsured: create or update an insured person from the agency's register."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from medpay.card.v1 import card_pb2
from medpay_card.adapters import insured_repo, ledger_repo
from medpay_card.adapters.ids import new_id
from medpay_card.domain import ledger
from medpay_card.usecases import commands as cmd
from medpay_card.usecases.deps import Deps
from medpay_kit.auth import Caller


async def import_insured(deps: Deps, caller: Caller, command: cmd.ImportInsured,
                         request: card_pb2.ImportInsuredRequest) -> card_pb2.ImportInsuredResponse:
    """Create (with the opening balance) or update (opening balance ignored); idempotent."""
    record = command.record

    async def work(session: AsyncSession) -> card_pb2.ImportInsuredResponse:
        now = deps.now()
        number_hash = deps.personal.person_number_hash(record.person_number)
        existing = await insured_repo.get_by_number_hash(session, number_hash)
        if existing is not None:
            await insured_repo.update_record(session, deps.personal, existing.insured_id,
                                             record, now)
            return card_pb2.ImportInsuredResponse(insured_id=existing.insured_id, created=False)
        insured_id = new_id("ins")
        await insured_repo.insert(session, deps.personal, insured_id, record, now)
        await ledger_repo.create_account(session, insured_id, now)
        if command.opening_balance:
            await ledger_repo.post(session, insured_id, ledger.opening_balance(command.opening_balance),
                                   reference="opening", merchant_id="", now=now)
        return card_pb2.ImportInsuredResponse(insured_id=insured_id, created=True)

    return await deps.idem.run(deps.db, caller.key, "ImportInsured", request,
                               card_pb2.ImportInsuredResponse, work)
