"""The in-process hub that wakes job watchers."""

from __future__ import annotations

import asyncio

from cocoa_coordinator.events import EventHub


async def test_a_poke_while_the_watcher_reads_is_not_lost() -> None:
    hub = EventHub()
    with hub.armed("job") as poked:
        hub.publish("job")  # lands before the watcher starts waiting
        await asyncio.wait_for(hub.wait(poked, timeout=30), 2)


async def test_a_wait_without_a_poke_ends_at_its_timeout() -> None:
    hub = EventHub()
    with hub.armed("job") as poked:
        await asyncio.wait_for(hub.wait(poked, timeout=0.05), 2)
        assert not poked.done()


async def test_a_poke_of_another_job_does_not_wake_the_watcher() -> None:
    hub = EventHub()
    with hub.armed("job") as poked:
        hub.publish("other")
        assert not poked.done()


async def test_leaving_the_armed_block_forgets_the_watcher() -> None:
    hub = EventHub()
    with hub.armed("job"):
        pass
    hub.publish("job")  # nothing left to wake, nothing raised
    with hub.armed("job") as poked:
        assert not poked.done()
