"""A terminal softphone: call the FastAGI server as Asterisk would, hear prompts as text, type
keys. ``1234#`` then Enter presses those keys; ``h`` hangs up; blanks are ignored.

    python -m ivr.agi.softphone --port 4573 --dialled 16005001 --caller-id 01012345678

``prompt_text`` maps (prompt id, language) to what it says (the prompts catalogue provides it);
without it the id itself is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import TextIO

from ivr.agi.payer import KeypadPayer
from ivr.agi.protocol import DEFAULT_PORT, DTMF_KEYS
from ivr.agi.simulator import PRES_ALLOWED, CallTranscript, SimulatedCall

HANG_UP_KEYS = frozenset("hHqQ")


def reading_time_ms(text: str, *, per_char_ms: int = 60, shortest_ms: int = 400,
                    longest_ms: int = 4000) -> int:
    """How long a prompt "plays": roughly the time to read its text."""
    return max(shortest_ms, min(longest_ms, len(text) * per_char_ms))


async def _stdin_reader() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def run_softphone(host: str, port: int, dialled: str, caller_id: str, *,
                        prompt_text: Callable[[str, str], str | None],
                        script: str = "ars", language: str = "ko",
                        presentation: int = PRES_ALLOWED,
                        keys: asyncio.StreamReader | None = None,
                        out: TextIO | None = None,
                        prompt_ms: Callable[[str], int] | None = None) -> CallTranscript:
    """Place one call and run it interactively until it ends; returns its transcript.

    ``keys`` is where typed lines come from (stdin by default), ``out`` where prompts are
    printed (stdout by default), ``prompt_ms`` how long each prompt plays (by default the
    reading time of its text).
    """
    out = out or sys.stdout

    def text_of(prompt_id: str, lang: str = language) -> str:
        return prompt_text(prompt_id, lang) or prompt_id

    def show(prompt_id: str, file: str) -> None:
        # file = <sound prefix>/<language>/<prompt id>
        lang = file[: -len(prompt_id)].rstrip("/").rpartition("/")[2] or language
        print(f"  ♪ [{prompt_id}] {text_of(prompt_id, lang)}", file=out, flush=True)

    payer = KeypadPayer(on_prompt=show)
    call = SimulatedCall(
        host, port, script=script, dialled=dialled, caller_id=caller_id,
        presentation=presentation, payer=payer, language=language,
        prompt_ms=prompt_ms or (lambda prompt_id: reading_time_ms(text_of(prompt_id))),
        io_timeout=3600.0,
    )
    print(f"☎ calling {dialled} from {caller_id or 'a withheld number'} "
          f"(keys then Enter; h hangs up)", file=out, flush=True)
    source = keys if keys is not None else await _stdin_reader()
    typing = asyncio.create_task(_type_keys(source, payer, call, out))
    try:
        transcript = await call.run()
    finally:
        typing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await typing
    print(f"☎ call ended ({transcript.ended_by}); keys sent: {len(transcript.keys_consumed)}",
          file=out, flush=True)
    return transcript


async def _type_keys(source: asyncio.StreamReader, payer: KeypadPayer, call: SimulatedCall,
                     out: TextIO) -> None:
    while line := await source.readline():
        for char in line.decode(errors="replace").strip():
            if char in HANG_UP_KEYS:
                call.hang_up()
                return
            if char in DTMF_KEYS:
                payer.press(char)
            elif not char.isspace():
                print(f"  (ignored {char!r}: keys are 0-9 * #, h hangs up)", file=out,
                      flush=True)
    call.hang_up()  # end of input: put the phone down


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--dialled", default="16005001")
    parser.add_argument("--caller-id", default="01012345678")
    parser.add_argument("--script", default="ars")
    parser.add_argument("--language", default="ko")
    parser.add_argument("--withheld", action="store_true", help="present the number as withheld")
    options = parser.parse_args(argv)
    presentation = 0x20 if options.withheld else PRES_ALLOWED
    asyncio.run(run_softphone(options.host, options.port, options.dialled, options.caller_id,
                              prompt_text=lambda _id, _lang: None, script=options.script,
                              language=options.language, presentation=presentation))


if __name__ == "__main__":
    main()
