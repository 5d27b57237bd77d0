"""The PG simulator in a process of its own, so the arspay server's CPU is arspay's alone.

    python bench/_pg_simulator.py      # prints its base URL, runs until SIGTERM
"""

from __future__ import annotations

import asyncio
import signal

from pg_client.simulator.app import start_simulator

SECRET_KEY = "test_sk_arspay_simulator"


async def main() -> None:
    runner, url = await start_simulator("127.0.0.1", 0, secret_key=SECRET_KEY)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(url, flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
