"""WatchVisitEvents: a HIS's event feed, from ``after_event_id`` on, then live.

Events of the caller's hospital only. The stream reads committed events in id order; when
it has caught up it waits for this process's bell (rung after every commit that adds an
event) or ``event_poll_s``, whichever comes first, so events committed by another replica
arrive too. Ids are handed out in commit order (see ``adapters.events``), so resuming with
the last id seen gives no gap and no duplicate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from medpay.billing.v1 import billing_pb2 as pb
from medpay_billing import convert
from medpay_billing.adapters import events
from medpay_billing.usecases.deps import Deps, hospital_of
from medpay_kit.auth import current_caller
from medpay_kit.errors import DomainError


async def watch(deps: Deps, request: pb.WatchVisitEventsRequest,
                ) -> AsyncIterator[pb.WatchVisitEventsResponse]:
    caller = current_caller()
    code = hospital_of(caller)
    if request.after_event_id < 0:
        raise DomainError("INVALID_ARGUMENT", "after_event_id must not be negative",
                          field="after_event_id")
    last = request.after_event_id
    while True:
        ticket = deps.bell.ticket()  # before the read: a commit during it still wakes us
        async with deps.db.read() as session:
            rows = await events.after(session, code, last)
        for row in rows:
            last = row.event_id
            yield pb.WatchVisitEventsResponse(event=convert.event(row))
        if not rows:
            await deps.bell.wait(deps.settings.event_poll_s, ticket)
