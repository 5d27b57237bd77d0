"""A standalone outbox worker: drains the same Redis outbox as the servers (scale it out, or
keep deliveries going while the API is down).

    arspay outbox-worker --config /etc/arspay/arspay.toml [--consumer NAME]
    python -m ivr.outbox --config /etc/arspay/arspay.toml [--consumer NAME]

Needs ``redis.url``. Stops on SIGTERM / SIGINT after the deliveries in flight finish.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys

from ivr.config import ConfigError, load_settings
from ivr.logging_setup import setup_logging
from ivr.outbox.worker import OutboxWorker
from ivr.services import build_services
from ivr.store.connect import redis_client
from sms.factory import build_sms_sender


async def run(config: str | None, consumer: str | None) -> int:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not settings.redis.url:
        print("redis.url must be set for a standalone outbox worker", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.path(settings.log_file))
    redis = redis_client(settings.redis.url, max_connections=settings.redis.max_connections)
    sms = build_sms_sender(
        settings.sms.sender,
        settings.sms.model_dump(),
        outbox_path=settings.path(settings.sms.outbox_path),
    )
    services = build_services(settings, redis, sms, {})
    name = consumer or settings.outbox.consumer or f"{socket.gethostname()}:worker"
    worker = OutboxWorker(
        redis=redis,
        keys=services.keys,
        store=services.store,
        settings=settings,
        sms=sms,
        consumer=name,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.start()
    print(f"outbox worker {name} running", flush=True)
    try:
        await stop.wait()
    finally:
        await worker.stop()
        await services.close()
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ivr.outbox", description=__doc__)
    parser.add_argument("--config", help="TOML file merged over config/default.toml")
    parser.add_argument("--consumer", help="consumer name in the group (default: host name)")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args.config, args.consumer)))


if __name__ == "__main__":
    main()
