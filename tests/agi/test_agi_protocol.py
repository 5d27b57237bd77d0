"""The wire format, as pure functions: every reply form of the reference, the environment,
Asterisk's argument splitting and our quoting."""

from __future__ import annotations

import pytest

from ivr.agi.errors import AgiBadEnvironment, AgiCommandTooLong, AgiMalformedReply
from ivr.agi.protocol import (
    HANGUP_NOTICE,
    MAX_COMMAND_BYTES,
    AgiReply,
    ReplyReader,
    env_args,
    format_command,
    parse_env_line,
    parse_reply_line,
    quote_arg,
    reply_usage,
    split_command_line,
    split_network_script,
)


@pytest.mark.parametrize(("line", "code", "result", "data", "endpos"), [
    ("200 result=0", 200, "0", None, None),
    ("200 result=1 (hello world)", 200, "1", "hello world", None),
    ("200 result=1 (a (nested) value)", 200, "1", "a (nested) value", None),
    ("200 result=0 endpos=8000", 200, "0", None, 8000),
    ("200 result=52 endpos=2400", 200, "52", None, 2400),
    ("200 result=-1 endpos=0", 200, "-1", None, 0),
    ("200 result=", 200, "", None, None),
    ("200 result= (timeout)", 200, "", "timeout", None),
    ("200 result=123 (timeout)", 200, "123", "timeout", None),
    ("200 result=0 (timeout) endpos=16000", 200, "0", "timeout", 16000),
    ("100 result=0 Trying...", 100, "0", "Trying...", None),
    ("503 result=-2 Memory allocation failure", 503, "-2", "Memory allocation failure", None),
    ("510 Invalid or unknown command", 510, None, "Invalid or unknown command", None),
    ("511 Command Not Permitted on a dead channel or intercept routine", 511, None,
     "Command Not Permitted on a dead channel or intercept routine", None),
    ("520 Invalid command syntax.  Proper usage not available.", 520, None,
     "Invalid command syntax.  Proper usage not available.", None),
])
def test_every_reply_form_parses(line: str, code: int, result: str | None, data: str | None,
                                 endpos: int | None) -> None:
    reply = parse_reply_line(line)
    assert (reply.code, reply.result, reply.data, reply.endpos) == (code, result, data, endpos)
    assert reply.raw == line


def test_timeout_marker_and_numbers() -> None:
    assert parse_reply_line("200 result=123 (timeout)").timed_out
    assert parse_reply_line("200 result= (timeout)").timed_out
    assert not parse_reply_line("200 result=123").timed_out
    assert parse_reply_line("200 result=-1 endpos=0").result_int == -1
    assert parse_reply_line("200 result=").result_int is None
    assert parse_reply_line("200 result=12*").result_int is None


@pytest.mark.parametrize("line", [
    "", "200", "hello", "2000 result=1", "200 result 1", "200 result=1 trailing junk",
    "20 result=1", "HANGUP now", "200-result=1",
])
def test_malformed_reply_lines_are_rejected(line: str) -> None:
    with pytest.raises(AgiMalformedReply):
        parse_reply_line(line)


def test_malformed_reply_error_does_not_echo_the_line() -> None:
    with pytest.raises(AgiMalformedReply) as caught:
        parse_reply_line("200 result=4111111111111111 junk")
    assert "4111" not in str(caught.value)


def test_multi_line_520_block_is_one_reply_and_the_next_line_parses_normally() -> None:
    reader = ReplyReader()
    usage = " Usage: STREAM FILE <filename> <escape_digits> [sample offset]\n        Send it."
    lines = reply_usage(usage).split("\n")
    assert lines[0] == "520-Invalid command syntax.  Proper usage follows:"
    assert lines[-1] == "520 End of proper usage."
    outputs = [reader.feed(line) for line in lines]
    assert outputs[:-1] == [None] * (len(lines) - 1)
    block = outputs[-1]
    assert isinstance(block, AgiReply)
    assert block.code == 520 and block.data == usage
    assert not reader.in_block
    assert reader.feed("200 result=1") == parse_reply_line("200 result=1")


def test_usage_block_lines_that_look_like_replies_stay_usage() -> None:
    reader = ReplyReader()
    assert reader.feed("520-Invalid command syntax.  Proper usage follows:") is None
    assert reader.feed("Example return code: 200 result=1 (testvariable)") is None
    assert reader.feed("200 result=1") is None  # inside the block it is text
    done = reader.feed("520 End of proper usage.")
    assert isinstance(done, AgiReply) and "200 result=1" in (done.data or "")


def test_end_marker_glued_to_the_last_usage_line_still_ends_the_block() -> None:
    reader = ReplyReader()
    reader.feed("520-Invalid command syntax.  Proper usage follows:")
    done = reader.feed("Answers channel. Returns -1 on failure.520 End of proper usage.")
    assert isinstance(done, AgiReply)
    assert done.data == "Answers channel. Returns -1 on failure."


def test_endless_520_block_is_bounded() -> None:
    reader = ReplyReader(max_block_lines=5)
    reader.feed("520-Invalid command syntax.  Proper usage follows:")
    with pytest.raises(AgiMalformedReply):
        for _ in range(10):
            reader.feed("more usage")


def test_hangup_line_is_a_notice_anywhere() -> None:
    reader = ReplyReader()
    assert reader.feed("HANGUP") is HANGUP_NOTICE
    assert isinstance(reader.feed("200 result=0"), AgiReply)


def test_sensitive_reply_repr_hides_digits() -> None:
    reply = parse_reply_line("200 result=4111 (timeout)")
    assert "4111" in repr(reply)
    hidden = AgiReply(reply.code, reply.result, reply.data, reply.endpos, reply.raw, True)
    assert "4111" not in repr(hidden) and "redacted" in repr(hidden)


# --- environment -------------------------------------------------------------------------------

def test_environment_lines() -> None:
    assert parse_env_line("agi_network_script: ars?lang=ko") == ("agi_network_script",
                                                                 "ars?lang=ko")
    assert parse_env_line("agi_accountcode: ") == ("agi_accountcode", "")
    assert parse_env_line("agi_accountcode:") == ("agi_accountcode", "")
    assert parse_env_line("agi_request: agi://127.0.0.1:4573/ars") == (
        "agi_request", "agi://127.0.0.1:4573/ars")


@pytest.mark.parametrize("line", ["GET / HTTP/1.1", "agi_network yes", "Host: x",
                                  ": value", "agi-network: yes"])
def test_bad_environment_lines(line: str) -> None:
    with pytest.raises(AgiBadEnvironment):
        parse_env_line(line)


def test_script_query_and_args() -> None:
    assert split_network_script("ars?lang=ko&x=1&x=2") == ("ars", {"lang": "ko", "x": "2"})
    assert split_network_script("ars") == ("ars", {})
    env = {"agi_arg_1": "one", "agi_arg_2": "two words", "agi_arg_4": "after a gap"}
    assert env_args(env) == ["one", "two words"]


# --- commands ----------------------------------------------------------------------------------

def test_plain_commands_are_not_quoted() -> None:
    assert format_command("STREAM FILE", "arspay/ko/greet", "0123456789*#") == \
        "STREAM FILE arspay/ko/greet 0123456789*#"
    assert format_command("GET DATA", "arspay/ko/card_number", 6000, 1) == \
        "GET DATA arspay/ko/card_number 6000 1"
    assert format_command("stream  file", "x", "") == 'stream file x ""'


@pytest.mark.parametrize("arg", ["", "two words", 'say "hi"', "back\\slash", "tab\there",
                                 ' lead', 'mixed "q" \\ and spaces'])
def test_quoting_round_trips_through_asterisks_parser(arg: str) -> None:
    line = format_command("SET VARIABLE", "NAME", arg)
    assert split_command_line(line) == ["SET", "VARIABLE", "NAME", arg]


def test_asterisk_argument_splitting() -> None:
    assert split_command_line('VERBOSE "hello world" 1') == ["VERBOSE", "hello world", "1"]
    assert split_command_line("a\\ b  c\t d") == ["a b", "c", "d"]
    assert split_command_line('STREAM FILE x ""') == ["STREAM", "FILE", "x", ""]
    assert split_command_line('a""b \\"q\\"') == ["ab", '"q"']


def test_newlines_and_oversize_commands_are_refused() -> None:
    with pytest.raises(AgiCommandTooLong):
        quote_arg("two\nlines")
    with pytest.raises(AgiCommandTooLong):
        format_command("NOOP\nHANGUP")
    fits = "x" * (MAX_COMMAND_BYTES - len("VERBOSE ") - 1)
    assert len(format_command("VERBOSE", fits)) + 1 == MAX_COMMAND_BYTES
    with pytest.raises(AgiCommandTooLong):
        format_command("VERBOSE", fits + "x")
