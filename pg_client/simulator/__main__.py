"""Run the PG simulator standalone: python -m pg_client.simulator --port 8900."""

from __future__ import annotations

import argparse
import asyncio
import logging

from pg_client.simulator.app import start_simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pg_client.simulator",
                                     description="Local PG speaking the Toss Payments subset")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--secret-key", default="test_sk_arspay_simulator",
                        help="the Basic-auth secret clients must present")
    parser.add_argument("--latency-delay", type=float, default=2.0,
                        help="seconds of delay for amounts ending in 7777")
    parser.add_argument("--hang-delay", type=float, default=30.0,
                        help="seconds a 'hang' amount (…7772, …7774) stays silent")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    runner, base_url = await start_simulator(
        args.host, args.port, secret_key=args.secret_key,
        latency_delay=args.latency_delay, hang_delay=args.hang_delay,
    )
    print(f"PG simulator (Toss subset) listening on {base_url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(serve(parse_args(argv)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
