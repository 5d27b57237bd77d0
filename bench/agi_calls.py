"""Benchmark (not a test): N simultaneous simulated payment calls through the FastAGI server.

    .venv/bin/python bench/agi_calls.py --calls 200

Starts, each in its own process: a private redis-server, the PG simulator
(bench/_pg_simulator.py) and arspay itself (``python -m ivr.cli serve --config <tmp toml>``:
HTTP API + FastAGI, logging at INFO as by default). This process is the load generator: it
creates one payment request per call over HTTP (distinct payer phones, delivery "display"),
places one warm-up call, ``--serial`` calls one at a time, then ``--calls`` calls at once with
the Asterisk-side simulator (``ivr.agi.simulator.SimulatedCall``) and a payer who confirms, keys
an approved test card and accepts the read-back; every call must end approved.

Then the same load runs against a minimal panoramisk FastAGI app (bench/_panoramisk_app.py) that
replays the warm-up call's exact AGI command list with no business logic, driven by the same
simulator and the same payer (its transcript must match the arspay warm-up's command for
command and reply for reply).

Figures: calls/s; server CPU per call and per AGI command (utime+stime from /proc/<pid>/stat
over the loaded phase, until the server is idle again); command turnaround, i.e. the time from
the simulator's previous write (reply, or the environment) to the arrival of the next command
(the server's think time, p50/p99; measured in this process, so it includes this process's own
event-loop delay under load); RSS growth (VmRSS/VmHWM) during the N calls divided by N.
Also printed: the load generator's own CPU (when it nears a full core, the faster server's
calls/s is a floor), CPU used meanwhile by other processes and hypervisor steal (a shared
machine skews wall-clock figures), and arspay's slowest steps.

``--ramp S`` starts the N calls evenly over S seconds instead of all at once (a steadier load
than the burst). ``--profile`` runs arspay under cProfile (its CPU figures then include the
profiler's overhead) and prints where its time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import pstats
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from _pg_simulator import SECRET_KEY as PG_SECRET_KEY
from _proc import Child, RssSampler, cpu_seconds, machine_cpu_seconds, memory_kib, python

from ivr.agi.payer import Keys, OnPrompt, Payer
from ivr.agi.simulator import CallTranscript, SimulatedCall
from ivr.config import hash_api_key
from ivr.redis_process import RedisProcess, free_port
from pg_client.simulator.cards import APPROVE

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
API_KEY = "sk_bench_agi_calls"
AMOUNT = 28_500  # below the installment threshold: no installments prompt
PROMPT_MS = 200  # virtual time: nothing sleeps, this only places the payer's keys


def paying_payer() -> Payer:
    """Confirms, keys an approved test card, expiry, birthdate and PIN, accepts the read-back
    (the payer of tests/calls/callkit.py ``paying()``)."""
    return Payer.scripted([
        OnPrompt("confirm", Keys("1")),
        OnPrompt("card_number", Keys(APPROVE + "#", gap_ms=150)),
        OnPrompt("expiry", Keys("1230")),
        OnPrompt("identity", Keys("880229#")),
        OnPrompt("pin", Keys("47")),
        OnPrompt("readback.2", Keys("1")),
    ])


# --- figures ------------------------------------------------------------------------------------

@dataclass
class Phase:
    """One loaded phase against one server."""

    calls: int
    wall_s: float
    server_cpu_s: float
    generator_cpu_s: float
    commands: int
    turnarounds: list[float]
    rss_base_kib: int
    rss_peak_kib: int
    peak_concurrency: int
    others_cpu_s: dict[str, float] = field(default_factory=dict)
    foreign_cpu_s: float = 0.0  # CPU used meanwhile outside the bench's processes…
    irq_cpu_s: float = 0.0      # …of which interrupts and softirqs (loopback TCP)
    steal_s: float = 0.0        # CPU time the hypervisor took from this machine meanwhile

    @property
    def generator_load(self) -> float:
        """Share of one core the load generator (this process) used."""
        return self.generator_cpu_s / self.wall_s

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.wall_s

    @property
    def cpu_per_call_ms(self) -> float:
        return self.server_cpu_s / self.calls * 1000

    @property
    def cpu_per_command_us(self) -> float:
        return self.server_cpu_s / self.commands * 1e6

    @property
    def rss_per_call_kib(self) -> float:
        return (self.rss_peak_kib - self.rss_base_kib) / self.calls


@dataclass
class ServerRun:
    name: str
    warmup: CallTranscript
    serial: list[CallTranscript]
    loaded: Phase
    loaded_calls: list[CallTranscript]
    notes: list[str] = field(default_factory=list)

    @property
    def serial_turnarounds(self) -> list[float]:
        return turnarounds(self.serial)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def turnarounds(transcripts: Sequence[CallTranscript]) -> list[float]:
    return [e.turnaround_s for t in transcripts for e in t.exchanges if e.turnaround_s is not None]


def peak_concurrency(spans: Sequence[tuple[float, float]]) -> int:
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    live = peak = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    return peak


def command_kinds(transcript: CallTranscript) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for command in transcript.commands:
        words = command.split()
        kinds[" ".join(words[:3] if words[:3] == ["WAIT", "FOR", "DIGIT"] else words[:2]
                       if words[0] in ("STREAM", "GET", "SAY", "SET", "CHANNEL") else words[:1])
              ] += 1
    return kinds


# --- driving calls ------------------------------------------------------------------------------

async def place(port: int, dialled: str, caller: str,
                delay: float = 0.0) -> tuple[CallTranscript, float, float]:
    if delay:
        await asyncio.sleep(delay)
    start = time.perf_counter()
    call = SimulatedCall("127.0.0.1", port, dialled=dialled, caller_id=caller,
                         payer=paying_payer(), prompt_ms=PROMPT_MS, io_timeout=60.0)
    transcript = await call.run()
    return transcript, start, time.perf_counter()


def check_call(transcript: CallTranscript, what: str) -> None:
    if transcript.protocol_violations or transcript.ended_by != "server_hangup":
        raise RuntimeError(f"{what}: ended {transcript.ended_by}, violations "
                           f"{transcript.protocol_violations}, heard {transcript.heard}")


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def loaded_phase(server_pid: int, targets: Sequence[tuple[str, str]], agi_port: int,
                       others: dict[str, int], ramp: float) -> tuple[Phase, list[CallTranscript]]:
    """Fire every call at once (or spread evenly over ``ramp`` seconds); measure the server from
    the first connect until it is idle. ``others`` are the bench's other processes (Redis, the
    PG simulator)."""
    rss_base = memory_kib(server_pid)["VmRSS"]
    sampler = RssSampler(server_pid)
    cpu0 = cpu_seconds(server_pid)
    others0 = {name: cpu_seconds(pid) for name, pid in others.items()}
    machine0 = machine_cpu_seconds()
    gen0 = self_cpu_seconds()
    sampler.start()
    start = time.perf_counter()
    step = ramp / len(targets)
    results = await asyncio.gather(*(place(agi_port, d, c, i * step)
                                     for i, (d, c) in enumerate(targets)))
    wall = time.perf_counter() - start
    gen1 = self_cpu_seconds()
    rss_peak = await sampler.stop()
    cpu1 = await settled_cpu(server_pid)
    others1 = {name: cpu_seconds(pid) for name, pid in others.items()}
    ours = (cpu1 - cpu0) + (self_cpu_seconds() - gen0) + sum(
        others1[name] - others0[name] for name in others)
    machine1 = machine_cpu_seconds()
    foreign = machine1["busy"] - machine0["busy"] - ours
    transcripts = [t for t, _, _ in results]
    phase = Phase(
        calls=len(targets),
        wall_s=wall,
        server_cpu_s=cpu1 - cpu0,
        generator_cpu_s=gen1 - gen0,
        commands=sum(len(t.exchanges) for t in transcripts),
        turnarounds=turnarounds(transcripts),
        rss_base_kib=rss_base,
        rss_peak_kib=rss_peak,
        peak_concurrency=peak_concurrency([(a, b) for _, a, b in results]),
        others_cpu_s={name: others1[name] - others0[name] for name in others},
        foreign_cpu_s=max(0.0, foreign),
        irq_cpu_s=machine1["irq"] - machine0["irq"],
        steal_s=machine1["steal"] - machine0["steal"],
    )
    return phase, transcripts


async def settled_cpu(pid: int, quiet: float = 0.3, limit: float = 5.0) -> float:
    """The process's CPU seconds once it has used none for ``quiet`` seconds (work it deferred
    past the last call, such as receipts queued in the outbox, is counted)."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet)
        now = cpu_seconds(pid)
        if now - last < 0.011:  # at most one clock tick: idle
            return now
        last = now
    return last


async def serial_calls(agi_port: int, targets: Sequence[tuple[str, str]]) -> list[CallTranscript]:
    out: list[CallTranscript] = []
    for index, (dialled, caller) in enumerate(targets):
        transcript, _, _ = await place(agi_port, dialled, caller)
        check_call(transcript, f"serial call {index}")
        out.append(transcript)
    return out


def slowest_steps(transcripts: Sequence[CallTranscript], count: int = 4) -> list[str]:
    """The command positions with the longest median turnaround (calls of one shape)."""
    if not transcripts:
        return []
    length = len(transcripts[0].exchanges)
    same = [t for t in transcripts if len(t.exchanges) == length]
    steps = []
    for index in range(length):
        values = [t.exchanges[index].turnaround_s or 0.0 for t in same]
        steps.append((statistics.median(values), index))
    steps.sort(reverse=True)
    out = []
    for median, index in steps[:count]:
        command = same[0].exchanges[index].command
        out.append(f"#{index + 1} {short_command(command)} {median * 1000:.1f} ms")
    return out


def short_command(command: str) -> str:
    words = command.split()
    for word in words:
        if "/" in word:  # a sound file: keep its prompt id
            return f"{' '.join(w for w in words if w.isupper())} {word.split('/', 2)[-1]}"
    return " ".join(words[:3])


# --- arspay -------------------------------------------------------------------------------------

def toml_value(value: object) -> str:
    return json.dumps(value, ensure_ascii=True)  # JSON strings and numbers are TOML too


def write_arspay_config(tmp: Path, redis_url: str, pg_url: str, http_port: int,
                        agi_port: int) -> Path:
    def q(v: object) -> str:
        return toml_value(v)

    text = f"""
var_dir = {q(str(tmp))}
log_level = "INFO"
log_file = {q(str(tmp / "arspay.log"))}

[http]
port = {http_port}

[agi]
port = {agi_port}
sounds_dir = {q(str(tmp / "sounds"))}

[redis]
url = {q(redis_url)}
managed = false

[sms]
outbox_path = {q(str(tmp / "sms-outbox.jsonl"))}
echo = false

[pg]
simulator = false

[pg.toss]
base_url = {q(pg_url)}
secret_key = {q(PG_SECRET_KEY)}

[[merchants]]
id = "bench"
display_name = {q("벤치상점")}
api_key_sha256 = {q(hash_api_key(API_KEY))}
"""
    path = tmp / "arspay.toml"
    path.write_text(text)
    return path


async def create_requests(base_url: str, count: int, first_phone: int) -> list[dict[str, str]]:
    """``count`` payment requests, one per payer phone, 32 at a time."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    out: list[dict[str, str]] = [{} for _ in range(count)]
    queue = list(range(count))

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            i = queue.pop()
            phone = f"010{first_phone + i:08d}"
            body = {"kind": "payment", "order_id": f"agi-bench-{time.time_ns()}-{i}",
                    "product_name": "벤치마크 원두 1kg", "amount": AMOUNT,
                    "payer_name": "홍길동", "payer_phone": phone, "delivery": "display"}
            async with session.post(f"{base_url}/v1/ars-requests", json=body,
                                    headers=headers) as resp:
                got = await resp.json()
                if resp.status != 201:
                    raise RuntimeError(f"create request: HTTP {resp.status}: {got}")
            out[i] = {"id": got["id"], "caller": phone,
                      "dialled": got["virtual_number"]["display"].replace("-", "")}

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(32)))
    return out


async def count_approved(base_url: str, ids: Sequence[str]) -> Counter[str]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    statuses: Counter[str] = Counter()
    queue = list(ids)

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            request_id = queue.pop()
            async with session.get(f"{base_url}/v1/ars-requests/{request_id}",
                                   headers=headers) as resp:
                statuses[(await resp.json())["status"]] += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(16)))
    return statuses


async def run_arspay(tmp: Path, redis: RedisProcess, pg: Child, others: dict[str, int],
                     calls: int, serial: int, ramp: float,
                     profile: bool) -> tuple[ServerRun, Path | None]:
    http_port, agi_port = free_port(), free_port()
    pg_url = await pg.ready_line()
    config = write_arspay_config(tmp, redis.url, pg_url, http_port, agi_port)
    prof = tmp / "arspay.prof" if profile else None
    argv = [python(), *([str(BENCH / "_profiled_serve.py"), str(prof)] if prof else
                        ["-m", "ivr.cli"]), "serve", "--config", str(config)]
    server = Child("arspay", argv, tmp / "arspay.stderr")
    await server.start(ROOT)
    try:
        await server.wait_for_ports([http_port, agi_port])
        base_url = f"http://127.0.0.1:{http_port}"
        requests = await create_requests(base_url, 1 + serial + calls, first_phone=20_000_000)
        targets = [(r["dialled"], r["caller"]) for r in requests]
        warm, _, _ = await place(agi_port, *targets[0])
        check_call(warm, "arspay warm-up call")
        serial_ts = await serial_calls(agi_port, targets[1:1 + serial])
        phase, transcripts = await loaded_phase(server.pid, targets[1 + serial:], agi_port,
                                                others, ramp)
        for index, transcript in enumerate(transcripts):
            check_call(transcript, f"arspay loaded call {index}")
        statuses = await count_approved(base_url, [r["id"] for r in requests])
        if statuses != Counter({"approved": len(requests)}):
            raise RuntimeError(f"not every request was approved: {dict(statuses)}")
        run = ServerRun("arspay", warm, serial_ts, phase, transcripts)
        run.notes.append(f"all {len(requests)} requests approved "
                         f"(warm-up + {serial} one at a time + {calls} loaded)")
        want = command_kinds(warm)
        odd = sum(1 for t in transcripts if command_kinds(t) != want)
        if odd:
            run.notes.append(f"{odd} loaded calls sent a different command mix than the warm-up")
        return run, prof
    finally:
        await server.stop(timeout=120 if prof else 15)  # the profile is written at exit


# --- panoramisk ---------------------------------------------------------------------------------

async def run_panoramisk(tmp: Path, reference: CallTranscript, calls: int, serial: int,
                         ramp: float, others: dict[str, int]) -> ServerRun:
    commands_file = tmp / "commands.json"
    commands_file.write_text(json.dumps(reference.commands))
    app = Child("panoramisk app", [python(), str(BENCH / "_panoramisk_app.py"),
                                   str(commands_file)], tmp / "panoramisk.stderr")
    await app.start(ROOT)
    try:
        port = int(await app.ready_line())
        # The payer keys off prompt ids, so the dialled number and caller do not matter here.
        targets = [("16005001", f"010{30_000_000 + i:08d}") for i in range(1 + serial + calls)]
        warm, _, _ = await place(port, *targets[0])
        check_call(warm, "panoramisk warm-up call")
        expected = [(e.command, e.reply) for e in reference.exchanges]
        if [(e.command, e.reply) for e in warm.exchanges] != expected:
            raise RuntimeError("the panoramisk replay did not get the arspay call's replies")
        serial_ts = await serial_calls(port, targets[1:1 + serial])
        phase, transcripts = await loaded_phase(app.pid, targets[1 + serial:], port, others,
                                                ramp)
        for index, transcript in enumerate(transcripts):
            check_call(transcript, f"panoramisk loaded call {index}")
            if [(e.command, e.reply) for e in transcript.exchanges] != expected:
                raise RuntimeError(f"panoramisk loaded call {index} diverged from the replay")
        return ServerRun("panoramisk", warm, serial_ts, phase, transcripts)
    finally:
        await app.stop()


# --- report -------------------------------------------------------------------------------------

def table(ars: ServerRun, pan: ServerRun, load: str) -> str:
    a, p = ars.loaded, pan.loaded
    rows: list[tuple[str, float, float, str]] = [
        (f"calls/s ({load})", a.calls_per_s, p.calls_per_s, "{:.1f}"),
        ("server CPU per call, ms", a.cpu_per_call_ms, p.cpu_per_call_ms, "{:.2f}"),
        ("server CPU per AGI command, µs", a.cpu_per_command_us, p.cpu_per_command_us, "{:.0f}"),
        (f"turnaround p50, ms ({load})", percentile(a.turnarounds, 50) * 1000,
         percentile(p.turnarounds, 50) * 1000, "{:.2f}"),
        (f"turnaround p99, ms ({load})", percentile(a.turnarounds, 99) * 1000,
         percentile(p.turnarounds, 99) * 1000, "{:.2f}"),
        ("turnaround p50, ms (one call at a time)", percentile(ars.serial_turnarounds, 50) * 1000,
         percentile(pan.serial_turnarounds, 50) * 1000, "{:.3f}"),
        ("turnaround p99, ms (one call at a time)", percentile(ars.serial_turnarounds, 99) * 1000,
         percentile(pan.serial_turnarounds, 99) * 1000, "{:.3f}"),
        (f"RSS growth per call, KiB ({load})", a.rss_per_call_kib, p.rss_per_call_kib,
         "{:.1f}"),
        ("server RSS before the calls, MiB", a.rss_base_kib / 1024, p.rss_base_kib / 1024,
         "{:.1f}"),
        ("server RSS peak, MiB", a.rss_peak_kib / 1024, p.rss_peak_kib / 1024, "{:.1f}"),
        ("load generator CPU per call, ms", a.generator_cpu_s / a.calls * 1000,
         p.generator_cpu_s / p.calls * 1000, "{:.2f}"),
    ]
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'':<{width}}{'arspay':>11}{'panoramisk':>12}{'ratio':>7}",
             f"{'':<{width}}{'':>11}{'(replay)':>12}{'a/p':>7}"]
    for label, x, y, fmt in rows:
        ratio = f"{x / y:.1f}" if y else "-"
        lines.append(f"{label:<{width}}{fmt.format(x):>11}{fmt.format(y):>12}{ratio:>7}")
    lines.append("")
    kinds = ", ".join(f"{k} {n}" for k, n in command_kinds(ars.warmup).most_common())
    lines.append(f"AGI commands per call: {len(ars.warmup.exchanges)} ({kinds})")
    for run in (ars, pan):
        ph = run.loaded
        lines.append(
            f"{run.name}: {ph.commands} commands in {ph.wall_s:.2f}s, peak {ph.peak_concurrency} "
            f"calls open; load generator busy {ph.generator_load * 100:.0f}% of a core; "
            f"meanwhile: CPU outside the bench's processes {ph.foreign_cpu_s:.2f}s, irq/softirq "
            f"{ph.irq_cpu_s:.2f}s, hypervisor steal {ph.steal_s:.2f}s")
    others = ", ".join(f"{name} {cpu / a.calls * 1000:.2f} ms"
                       for name, cpu in a.others_cpu_s.items())
    lines.append(f"beside arspay, CPU per call: {others}")
    lines.append("slowest arspay steps (median turnaround before the command), one call at a "
                 "time: " + "; ".join(slowest_steps(ars.serial)))
    lines.append(f"… and with {load}: " + "; ".join(slowest_steps(ars.loaded_calls)))
    for run in (ars, pan):
        if run.loaded.generator_load > 0.8:
            run.notes.append(f"the load generator was near saturation during the {run.name} "
                             "phase: its calls/s is a floor, its loaded turnaround includes the "
                             "generator's own event-loop delay")
    lines.extend(ars.notes + pan.notes)
    return "\n".join(lines)


EPOLL_WAIT = "<method 'poll' of 'select.epoll' objects>"


def profile_summary(prof: Path, top: int = 20) -> str:
    """Where arspay's time went while it was not idle: self time by area (time in C built-ins
    is charged to the area that called them) and the project's functions by cumulative time
    (for coroutines: summed over their resumptions, their callees included)."""
    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]
    idle = sum(v[2] for k, v in stats.items() if k[2] == EPOLL_WAIT)
    total = sum(v[2] for v in stats.values()) - idle
    by_area: Counter[str] = Counter()
    for (filename, _line, name), (_cc, _nc, tottime, _ct, callers) in stats.items():
        if name == EPOLL_WAIT:
            continue
        if filename == "~" and callers:
            for (caller_file, _l, _n), caller_stats in callers.items():
                by_area[_area(caller_file)] += caller_stats[2]
        else:
            by_area[_area(filename)] += tottime
    lines = [f"arspay time while busy, by area (cProfile self time, {total:.2f}s over the whole "
             f"run, {idle:.2f}s idle in epoll left out; profiling inflates it):"]
    for area, seconds in by_area.most_common(14):
        lines.append(f"  {seconds / total * 100:5.1f}%  {area}")
    ours = [(v[3], k) for k, v in stats.items()
            if k[0].startswith(str(ROOT)) and not {"bench", ".venv"} & set(Path(k[0]).parts)
            and not k[0].endswith(("ivr/cli.py", "ivr/server.py"))]
    ours.sort(reverse=True)
    lines.append(f"project functions by cumulative time (top {top}):")
    for cumtime, (filename, line, name) in ours[:top]:
        where = f"{Path(filename).relative_to(ROOT)}:{line} {name}"
        lines.append(f"  {cumtime / total * 100:5.1f}%  {where}")
    return "\n".join(lines)


def _area(filename: str) -> str:
    """A file path shortened to a third-party package, a stdlib module or a project package."""
    if filename.startswith(("~", "<")):
        return "builtins"
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    try:
        relative = path.relative_to(ROOT)
    except ValueError:
        pass
    else:
        return str(relative.parent) + "/" if len(relative.parts) > 1 else str(relative)
    for marker in ("asyncio", "logging", "json", "http", "email", "concurrent"):
        if marker in parts:
            return "stdlib " + marker
    return "stdlib " + path.stem


# --- main ---------------------------------------------------------------------------------------

def source_version() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200, help="calls at once (default 200)")
    parser.add_argument("--serial", type=int, default=20,
                        help="calls one at a time before, for unloaded turnaround (default 20)")
    parser.add_argument("--ramp", type=float, default=0.0, metavar="SECONDS",
                        help="start the calls evenly over this long instead of all at once")
    parser.add_argument("--profile", action="store_true",
                        help="run arspay under cProfile and print where its CPU goes")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs…)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.calls < 1 or args.serial < 1 or args.ramp < 0:
        parser.error("--calls and --serial must be at least 1, --ramp not negative")

    command = shlex.join([".venv/bin/python", "bench/agi_calls.py", *sys.argv[1:]])
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="arspay-agi-bench-"))
    redis = RedisProcess(tmp / "redis", free_port())
    pg = Child("PG simulator", [python(), str(BENCH / "_pg_simulator.py")], tmp / "pg.stderr")
    try:
        redis.start()
        await pg.start(ROOT)
        assert redis.process is not None
        others = {"redis-server": redis.process.pid, "PG simulator": pg.pid}
        print(f"arspay: {args.calls} calls (+1 warm-up, {args.serial} one at a time)…",
              file=sys.stderr, flush=True)
        ars, prof = await run_arspay(tmp, redis, pg, others, args.calls, args.serial,
                                     args.ramp, args.profile)
        print("panoramisk replay: the same…", file=sys.stderr, flush=True)
        pan = await run_panoramisk(tmp, ars.warmup, args.calls, args.serial, args.ramp, others)
        load = (f"{args.calls} started over {args.ramp:g}s" if args.ramp else
                f"{args.calls} at once")
        report = table(ars, pan, load)
        summary = profile_summary(prof) if prof is not None else ""
    finally:
        await pg.stop()
        redis.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"$ {command}")
    print(f"source {source_version()}; {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}; load average "
          f"{load_before:.2f} at start; took {time.perf_counter() - started:.1f}s"
          + (f"; work files in {tmp}" if args.keep else ""))
    print(report)
    if summary:
        print()
        print(summary)
    if args.json is not None:
        args.json.write_text(json.dumps({
            run.name: {
                "calls_per_s": run.loaded.calls_per_s,
                "cpu_per_call_ms": run.loaded.cpu_per_call_ms,
                "cpu_per_command_us": run.loaded.cpu_per_command_us,
                "turnaround_p50_ms": percentile(run.loaded.turnarounds, 50) * 1000,
                "turnaround_p99_ms": percentile(run.loaded.turnarounds, 99) * 1000,
                "serial_turnaround_p50_ms": percentile(run.serial_turnarounds, 50) * 1000,
                "serial_turnaround_p99_ms": percentile(run.serial_turnarounds, 99) * 1000,
                "rss_per_call_kib": run.loaded.rss_per_call_kib,
                "commands": run.loaded.commands,
                "generator_load": run.loaded.generator_load,
                "foreign_cpu_s": run.loaded.foreign_cpu_s,
            } for run in (ars, pan)
        }, indent=2))


async def run() -> None:
    """main(), cancelled on SIGTERM too, so that every child process is stopped on the way out."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    await main()


if __name__ == "__main__":
    asyncio.run(run())
