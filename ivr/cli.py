"""The ``arspay`` command."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from ivr.config import ConfigError, Settings, hash_api_key, load_settings
from ivr.demo import demo_api_key, with_demo_merchant
from ivr.logging_setup import setup_logging


def _load(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        print(f"arspay: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


# Printed inside '…' for a shell: the order id is made unique by $(date +%s).
DEMO_BODY = (
    """{"kind":"payment","order_id":"demo-'"$(date +%s)"'","product_name":"커피 원두 1kg","""
    """"amount":28500,"payer_name":"홍길동","payer_phone":"010-1234-5678"}"""
)


def _print_demo_banner(settings: Settings, api_key: str, http_port: int) -> None:
    base = f"http://{settings.http.host}:{http_port}"
    print(
        f"""
arspay demo is running.
  HTTP API     {base}   (OpenAPI: {base}/v1/openapi.json)
  FastAGI      agi://{settings.agi.host}:{settings.agi.port}/ars
  SMS outbox   {settings.path(settings.sms.outbox_path)}
  Demo merchant API key: {api_key}

Create a payment request:
  curl -s -X POST {base}/v1/ars-requests -H 'Authorization: Bearer {api_key}' \\
    -H 'Content-Type: application/json' \\
    -d '{DEMO_BODY}'
Press Ctrl-C to stop.
""",
        flush=True,
    )


async def _serve(settings: Settings, demo_key: str | None) -> int:
    from ivr.server import ArsPayServer

    server = ArsPayServer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        if demo_key is not None:
            _print_demo_banner(settings, demo_key, server.http_port)
        await stop.wait()
        print("\nstopping…", flush=True)
    finally:
        await server.stop()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _load(args)
    demo_key = None
    if args.demo or settings.demo:
        demo_key = demo_api_key(settings.path(settings.var_dir))
        settings = with_demo_merchant(settings, demo_key)
    setup_logging(settings.log_level, settings.path(settings.log_file))
    try:
        return asyncio.run(_serve(settings, demo_key))
    except KeyboardInterrupt:
        return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _load(args)
    print(
        f"configuration OK: {len(settings.merchants)} merchants, "
        f"{len(settings.pool.numbers())} virtual numbers"
    )
    return 0


def cmd_hash_key(args: argparse.Namespace) -> int:
    print(hash_api_key(args.key))
    return 0


def cmd_prompts(args: argparse.Namespace) -> int:
    from prompts.build import cli_build

    if not args.rest or args.rest[0] != "build":
        print("usage: arspay prompts build [--out DIR] [--language ko|en] [--check]",
              file=sys.stderr)
        return 2
    return cli_build(args.rest[1:])


def cmd_call(args: argparse.Namespace) -> int:
    """A terminal softphone: call the running server's FastAGI port as Asterisk would."""
    from ivr.agi.softphone import run_softphone
    from ivr.domain.phones import normalize_did, normalize_phone
    from prompts.catalogue import text_for
    from sms.phones import national_digits

    settings = _load(args)
    dialled = normalize_did(args.to)
    if dialled is None:
        print(f"arspay call: --to {args.to!r} is not a phone number", file=sys.stderr)
        return 2
    caller = "" if args.withheld else (normalize_phone(args.caller) or "")
    if not args.withheld and not caller:
        print(f"arspay call: --from {args.caller!r} is not a phone number", file=sys.stderr)
        return 2
    sounds = settings.path(settings.agi.sounds_dir)

    def prompt_text(prompt_id: str, language: str) -> str | None:
        return text_for(prompt_id, language if language in ("ko", "en") else "ko", sounds)

    transcript = asyncio.run(
        run_softphone(
            args.host or settings.agi.host,
            args.port or settings.agi.port,
            national_digits(dialled),
            national_digits(caller) if caller else "anonymous",
            prompt_text=prompt_text,
            language=args.language,
            presentation=0x20 if args.withheld else 0,
            prompt_ms=(lambda _prompt_id: args.prompt_ms) if args.prompt_ms else None,
        )
    )
    return 0 if transcript.ended_by != "rejected" else 1


def cmd_outbox_worker(args: argparse.Namespace) -> int:
    from ivr.outbox.__main__ import run

    return asyncio.run(run(str(args.config) if args.config else None, args.consumer))


def main(argv: list[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="TOML file merged over config/default.toml",
    )
    parser = argparse.ArgumentParser(prog="arspay", description=__doc__, parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve", parents=[common], help="run the HTTP API, FastAGI server and workers"
    )
    serve.add_argument("--demo", action="store_true", help="add the demo merchant, print its key")
    serve.set_defaults(func=cmd_serve)
    demo = sub.add_parser("demo", parents=[common], help="serve --demo")
    demo.set_defaults(func=cmd_serve, demo=True)

    check = sub.add_parser(
        "check-config", parents=[common], help="load and validate the configuration"
    )
    check.set_defaults(func=cmd_check_config)

    hash_key = sub.add_parser(
        "hash-key", parents=[common], help="print the api_key_sha256 of a merchant API key"
    )
    hash_key.add_argument("key")
    hash_key.set_defaults(func=cmd_hash_key)

    prompts = sub.add_parser(
        "prompts", parents=[common], help="prompt audio: arspay prompts build [--out DIR]"
    )
    prompts.add_argument("rest", nargs=argparse.REMAINDER)
    prompts.set_defaults(func=cmd_prompts)

    call = sub.add_parser(
        "call", parents=[common], help="terminal softphone: arspay call --to 1600-5001 --from 010-…"
    )
    call.add_argument("--to", required=True, help="the virtual number to dial, e.g. 1600-5001")
    call.add_argument(
        "--from", dest="caller", default="010-1234-5678", help="your caller ID (the payer's phone)"
    )
    call.add_argument("--withheld", action="store_true", help="withhold the caller ID")
    call.add_argument("--host", default=None, help="FastAGI host (default: [agi] host)")
    call.add_argument("--port", type=int, default=None, help="FastAGI port (default: [agi] port)")
    call.add_argument("--language", default="ko", choices=["ko", "en"])
    call.add_argument("--prompt-ms", type=int, default=0,
                      help="play every prompt this long (default: the time to read its text)")
    call.set_defaults(func=cmd_call)

    worker = sub.add_parser("outbox-worker", parents=[common],
                            help="a standalone worker draining callbacks and SMS (needs redis.url)")
    worker.add_argument("--consumer", default=None, help="consumer name (default: host name)")
    worker.set_defaults(func=cmd_outbox_worker)

    args = parser.parse_args(argv)
    if not hasattr(args, "config"):
        args.config = None
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
