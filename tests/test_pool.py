"""The virtual-number pool under concurrency: (DID, phone) is never shared by two requests."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from ivr.store.keys import Keys
from ivr.store.pool import NumberPool, PoolExhausted

DIDS = [f"+82160050{n:02d}" for n in range(1, 6)]


async def test_one_phone_gets_each_did_once_then_409(redis: Redis):
    pool = NumberPool(redis, Keys("t"), DIDS, 3_600_000)
    phone = "+821012345678"
    results = await asyncio.gather(
        *[pool.allocate(phone, f"ars_{n}", 60_000) for n in range(12)], return_exceptions=True
    )
    got = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, PoolExhausted)]
    assert sorted(got) == sorted(DIDS)  # every DID exactly once
    assert len(refused) == 7
    assert all(r.phone_pending == 5 for r in refused)
    assert "5 pending" in str(refused[0])
    for did in DIDS:
        assert (await pool.lookup(did, phone)).startswith("ars_")


async def test_many_phones_many_requests_release_everything(redis: Redis):
    pool = NumberPool(redis, Keys("t"), DIDS, 3_600_000)
    phones = [f"+8210{n:08d}" for n in range(40)]
    jobs = [(phone, f"ars_{phone[-4:]}_{k}") for phone in phones for k in range(7)]
    results = await asyncio.gather(
        *[pool.allocate(phone, rid, 60_000) for phone, rid in jobs], return_exceptions=True
    )
    taken: dict[tuple[str, str], str] = {}
    for (phone, rid), result in zip(jobs, results, strict=True):
        if isinstance(result, PoolExhausted):
            continue
        assert isinstance(result, str)
        assert (result, phone) not in taken, "two requests share (DID, phone)"
        taken[(result, phone)] = rid
    assert len(taken) == len(phones) * len(DIDS)
    # every request got a number or a 409, nothing else
    assert all(isinstance(r, str | PoolExhausted) for r in results)
    # a release by the wrong request id does nothing
    (did, phone), rid = next(iter(taken.items()))
    assert not await pool.release(phone, did, "ars_someone_else")
    await asyncio.gather(*[pool.release(phone, did, rid) for (did, phone), rid in taken.items()])
    assert await pool.allocated_total() == 0


async def test_allocation_expires_with_the_ttl(redis: Redis):
    pool = NumberPool(redis, Keys("t"), DIDS[:1], 3_600_000)
    await pool.allocate("+821011112222", "ars_a", 50)
    await asyncio.sleep(0.12)
    assert await pool.allocate("+821011112222", "ars_b", 60_000) == DIDS[0]
