"""The comparison server of bench/agi_calls.py: a minimal panoramisk 1.4 FastAGI Application
with one route, ``ars``, that sends a fixed list of AGI commands (one real arspay payment call's,
replayed) one after another and ignores the replies. No business logic, no Redis, no PG.

    python bench/_panoramisk_app.py COMMANDS.json     # prints its port, runs until SIGTERM
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from panoramisk.fast_agi import Application, Request


async def main(commands: list[str]) -> None:
    app = Application()  # built inside the running loop: its get_event_loop() finds it

    async def ars(request: Request) -> None:  # an async route: plain functions fail on 3.11
        for command in commands:
            await request.send_command(command)

    app.add_route("ars", ars)
    server = await asyncio.start_server(app.handler, "127.0.0.1", 0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(server.sockets[0].getsockname()[1], flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text())))
