"""The Asterisk samples a deployment loads: parsed with pyst2's asterisk.config and checked
for what keeps card data safe. Each checker is also run on a bad variant, to show it bites."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from asterisk.config import Config

ROOT = Path(__file__).resolve().parents[2]
DIALPLAN = ROOT / "dialplans" / "arspay.conf"
MANAGER = ROOT / "asterisk" / "manager.conf.sample"
LOGGER = ROOT / "asterisk" / "logger.conf.sample"
MODULES = ROOT / "asterisk" / "modules.conf.sample"

RECORDING_APPS = {"mixmonitor", "monitor", "record", "startmonitor", "chanspy", "extenspy"}
APP = re.compile(r"^(?P<app>[A-Za-z_]+)\((?P<args>.*)\)$")


# --- a small dialplan model -------------------------------------------------------------------


@dataclass
class Extension:
    pattern: str
    apps: list[tuple[str, str]] = field(default_factory=list)  # (app lower-cased, args)


def _app(step: str) -> tuple[str, str]:
    match = APP.match(step.strip())
    assert match, f"not an application call: {step!r}"
    return match["app"].lower(), match["args"]


def load_dialplan(path: Path) -> dict[str, list[Extension]]:
    contexts: dict[str, list[Extension]] = {}
    for category in Config(str(path)).categories:
        extensions: list[Extension] = []
        for item in category.items:
            if item.name == "exten":
                pattern, _priority, step = item.value.strip().split(",", 2)
                extensions.append(Extension(pattern.strip(), [_app(step)]))
            elif item.name == "same":
                _priority, step = item.value.strip().split(",", 1)
                extensions[-1].apps.append(_app(step))
        contexts[category.name] = extensions
    return contexts


def pattern_matches(pattern: str, number: str) -> bool:
    """Asterisk extension matching: literal, or `_` with X Z N [..] . !"""
    if not pattern.startswith("_"):
        return pattern == number
    regex = ""
    for token in re.findall(r"\[[^\]]+\]|.", pattern[1:]):
        regex += {
            "X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*",
        }.get(token, token if token.startswith("[") else re.escape(token))  # fmt: skip
    return re.fullmatch(regex, number) is not None


def route(contexts: dict[str, list[Extension]], context: str, number: str) -> Extension | None:
    """The extension a call to `number` ends up running, following Goto within the file."""
    for _ in range(5):
        matching = [e for e in contexts[context] if pattern_matches(e.pattern, number)]
        if not matching:
            return None
        ext = max(matching, key=lambda e: len(e.pattern))  # most specific, roughly
        app, args = ext.apps[0]
        if app != "goto":
            return ext
        target_context, target, _priority = args.split(",")
        substring = re.fullmatch(r"(?P<prefix>\d*)\$\{EXTEN:(?P<skip>\d+)\}", target)
        assert substring, f"unexpected Goto target {target!r}"
        number = substring["prefix"] + number[int(substring["skip"]) :]
        context = target_context
    raise AssertionError("Goto loop")


def ars_agi_calls(ext: Extension) -> list[str]:
    return [args for app, args in ext.apps if app == "agi"]


def dialplan_problems(path: Path) -> list[str]:
    problems = []
    contexts = load_dialplan(path)
    for name, extensions in contexts.items():
        for ext in extensions:
            for app, args in ext.apps:
                if app in RECORDING_APPS:
                    problems.append(f"{name}: records calls with {app}")
                if app == "set" and re.match(r"\s*AGISIGHUP\s*=\s*no", args, re.IGNORECASE):
                    problems.append(f"{name}: AGISIGHUP=no")
                if app == "answer":
                    problems.append(f"{name}: Answer() in dialplan; the AGI answers")
    for ext in contexts.get("arspay-inbound", []):
        if ext.apps[0][0] == "goto":
            continue
        urls = ars_agi_calls(ext)
        if not urls:
            problems.append(f"arspay-inbound {ext.pattern}: no AGI")
        for url in urls:
            if not re.match(r"h?agi://[^/]+/ars(\?|,|$)", url):
                problems.append(f"arspay-inbound {ext.pattern}: AGI {url} is not the ars script")
    return problems


# --- dialplan ---------------------------------------------------------------------------------


def test_pyst2_config_parser_reads_the_samples() -> None:
    for path in (DIALPLAN, MANAGER, LOGGER, MODULES):
        assert Config(str(path)).categories, path


def test_dialplan_has_no_problems() -> None:
    assert dialplan_problems(DIALPLAN) == []


@pytest.mark.parametrize(
    "dialled",
    ["16005001", "15881234", "18001234", "05012345678", "050712345678", "07012345678",
     "+8216005001", "+825012345678", "+8250712345678", "+827012345678"],
)  # fmt: skip
def test_virtual_numbers_reach_the_ars_agi(dialled: str) -> None:
    contexts = load_dialplan(DIALPLAN)
    ext = route(contexts, "arspay-inbound", dialled)
    assert ext is not None, dialled
    [url] = ars_agi_calls(ext)
    assert url == "agi://127.0.0.1:4573/ars"
    apps = [app for app, _ in ext.apps]
    assert apps.index("set") < apps.index("agi")  # AGISIGHUP and the handler come first
    assert ("set", "AGISIGHUP=yes") in ext.apps
    assert ("set", "CHANNEL(hangup_handler_push)=arspay-hangup,s,1") in ext.apps


@pytest.mark.parametrize("dialled", ["01012345678", "0212345678", "1234", "+821012345678"])
def test_other_numbers_do_not_match(dialled: str) -> None:
    assert route(load_dialplan(DIALPLAN), "arspay-inbound", dialled) is None


def test_hangup_handler_does_nothing_card_related() -> None:
    [handler] = load_dialplan(DIALPLAN)["arspay-hangup"]
    assert handler.pattern == "s"
    assert [app for app, _ in handler.apps] == ["noop", "return"]


def test_outbound_context_for_agent_originate() -> None:
    [ext] = load_dialplan(DIALPLAN)["arspay-outbound"]
    assert pattern_matches(ext.pattern, "16005001")
    [url] = ars_agi_calls(ext)
    assert url == "agi://127.0.0.1:4573/ars,outbound,${ARSPAY_REQUEST_ID}"
    assert ("set", "AGISIGHUP=yes") in ext.apps


@pytest.mark.parametrize(
    ("bad_step", "problem"),
    [
        ("MixMonitor(${UNIQUEID}.wav)", "records calls with mixmonitor"),
        ("Set(AGISIGHUP=no)", "AGISIGHUP=no"),
        ("Answer()", "Answer() in dialplan"),
        ("AGI(agi://127.0.0.1:4573/other)", "is not the ars script"),
    ],
)
def test_dialplan_checker_catches_bad_variants(
    tmp_path: Path, bad_step: str, problem: str
) -> None:
    text = DIALPLAN.read_text().replace(
        " same => n,AGI(agi://127.0.0.1:4573/ars)\n",
        f" same => n,{bad_step}\n same => n,AGI(agi://127.0.0.1:4573/ars)\n",
        1,
    )
    if "other" in bad_step:
        text = text.replace(" same => n,AGI(agi://127.0.0.1:4573/ars)\n", "", 1)
    bad = tmp_path / "arspay.conf"
    bad.write_text(text)
    assert any(problem in p for p in dialplan_problems(bad))


# --- manager.conf -----------------------------------------------------------------------------


def _section(path: Path, name: str) -> dict[str, list[str]]:
    [category] = [c for c in Config(str(path)).categories if c.name == name]
    values: dict[str, list[str]] = {}
    for item in category.items:
        values.setdefault(item.name.strip(), []).append(item.value.strip())
    return values


def manager_problems(path: Path) -> list[str]:
    problems = []
    general = _section(path, "general")
    if general.get("bindaddr") != ["127.0.0.1"]:
        problems.append("AMI listens beyond loopback")
    user = _section(path, "arspay")
    read = {c.strip() for v in user.get("read", []) for c in v.split(",")}
    write = {c.strip() for v in user.get("write", []) for c in v.split(",")}
    for dangerous in ("dtmf", "agi", "all", "dialplan", "command", "config"):
        if dangerous in read:
            problems.append(f"read class {dangerous}")
    if not write <= {"originate", "call"}:
        problems.append(f"write classes beyond originate,call: {sorted(write)}")
    if user.get("deny") != ["0.0.0.0/0.0.0.0"]:
        problems.append("no deny-all")
    if user.get("permit") != ["127.0.0.1/255.255.255.255"]:
        problems.append(f"permits {user.get('permit')}")
    disabled = {e.strip() for v in general.get("disabledevents", []) for e in v.split(",")}
    if not {"DTMFBegin", "DTMFEnd"} <= disabled:
        problems.append("DTMF events not disabled")
    return problems


def test_manager_user_is_least_privilege() -> None:
    assert manager_problems(MANAGER) == []
    user = _section(MANAGER, "arspay")
    assert user["read"] == ["call,system"] and user["write"] == ["originate,call"]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("read = call,system", "read = call,system,dtmf", "read class dtmf"),
        ("read = call,system", "read = all", "read class all"),
        ("write = originate,call", "write = originate,call,command", "write classes beyond"),
        ("permit = 127.0.0.1/255.255.255.255", "permit = 0.0.0.0/0.0.0.0", "permits"),
        ("bindaddr = 127.0.0.1", "bindaddr = 0.0.0.0", "beyond loopback"),
        ("disabledevents = DTMFBegin,DTMFEnd,", "disabledevents = ", "DTMF events"),
    ],
)
def test_manager_checker_catches_bad_variants(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    text = MANAGER.read_text()
    assert old in text
    bad = tmp_path / "manager.conf"
    bad.write_text(text.replace(old, new, 1))
    assert any(problem in p for p in manager_problems(bad))


# --- logger.conf ------------------------------------------------------------------------------


def logger_problems(path: Path) -> list[str]:
    problems = []
    for channel, values in _section(path, "logfiles").items():
        for value in values:
            levels = {lvl.strip().lower() for lvl in value.lstrip(">").split(",")}
            for bad in ("dtmf", "debug", "*"):
                if bad in levels:
                    problems.append(f"{channel}: {bad}")
            if channel != "console" and "verbose" in levels:
                problems.append(f"{channel}: verbose in a file")
    return problems


def test_logger_has_no_dtmf_debug_or_verbose_files() -> None:
    assert logger_problems(LOGGER) == []
    assert "console" in _section(LOGGER, "logfiles")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("full => notice,warning,error,debug,verbose,dtmf", "full: dtmf"),
        ("debug.log => debug", "debug.log: debug"),
        ("full => notice,verbose", "full: verbose in a file"),
        ("everything => *", "everything: *"),
    ],
)
def test_logger_checker_catches_bad_variants(tmp_path: Path, line: str, problem: str) -> None:
    bad = tmp_path / "logger.conf"
    bad.write_text(LOGGER.read_text() + line + "\n")
    assert problem in logger_problems(bad)


# --- modules.conf -----------------------------------------------------------------------------


def test_modules_load_what_is_needed_and_never_recording() -> None:
    modules = _section(MODULES, "modules")
    assert modules["autoload"] == ["no"]
    loads = set(modules["load"])
    assert {
        "res_agi.so", "pbx_config.so", "chan_pjsip.so", "res_pjsip.so", "codec_ulaw.so",
        "codec_alaw.so", "format_wav.so", "app_stack.so", "func_channel.so",
        "res_rtp_asterisk.so",
    } <= loads  # fmt: skip
    assert not loads & {"app_mixmonitor.so", "app_monitor.so", "app_record.so",
                        "res_pjsip_logger.so"}  # fmt: skip
    assert {"app_mixmonitor.so", "app_record.so", "res_pjsip_logger.so"} <= set(
        modules["noload"]
    )


def test_readme_warns_against_debugging_card_digits() -> None:
    readme = (ROOT / "asterisk" / "README.md").read_text()
    for must in ("agi set debug on", "rtp set debug on", "pjsip set logger on", "hagi://",
                 "arspay prompts build"):  # fmt: skip
        assert must in readme
