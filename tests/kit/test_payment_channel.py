"""The sandbox payment channel: documented behaviours, idempotency, refunds bounded."""

from __future__ import annotations

import asyncio

import pytest

from medpay_kit.clock import Clock
from medpay_kit.db import Database, new_metadata
from medpay_kit.errors import DomainError
from medpay_kit.payment_channel import ChannelStatus, ChannelTimeout, SandboxChannel, channel_table


@pytest.fixture
def channel(tmp_path):
    metadata = new_metadata()
    table = channel_table(metadata)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")

    async def create():
        async with db.write_engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    asyncio.run(create())
    return SandboxChannel(db, table, Clock())


def run(coro):
    return asyncio.run(coro)


def test_approve_decline_and_idempotent_charge(channel):
    first = run(channel.charge("ref-1", "payer-a", 1234))
    assert first.status is ChannelStatus.CHARGED and first.amount_fen == 1234
    assert run(channel.charge("ref-1", "payer-a", 1234)) == first
    assert run(channel.charge("ref-2", "payer-decline", 50)).status is ChannelStatus.DECLINED


def test_timeout_charges_nothing_and_lost_reply_charges_but_raises(channel):
    with pytest.raises(ChannelTimeout):
        run(channel.charge("ref-3", "sandbox-timeout", 100))
    assert run(channel.query("ref-3")) is None
    with pytest.raises(ChannelTimeout):
        run(channel.charge("ref-4", "sandbox-lost-reply", 100))
    assert run(channel.query("ref-4")).status is ChannelStatus.CHARGED


def test_refunds_never_exceed_the_charge(channel):
    run(channel.charge("ref-5", "payer", 1000))
    run(channel.refund("ref-5-r1", "ref-5", 600))
    assert run(channel.refund("ref-5-r1", "ref-5", 600)).amount_fen == 600  # replay
    with pytest.raises(DomainError) as err:
        run(channel.refund("ref-5-r2", "ref-5", 401))
    assert err.value.reason == "REFUND_EXCEEDS_PAID"
    assert run(channel.refund("ref-5-r3", "ref-5", 400)).status is ChannelStatus.REFUNDED
