"""Bench helpers: what /proc says about a process, and child processes the bench starts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads, live or ended), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid`` in KiB, from /proc/<pid>/status."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


class RssSampler:
    """Samples a process's VmRSS every ``interval`` seconds while running (the peak is the
    figure of interest; VmHWM catches a peak between samples)."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self._hwm_before = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._hwm_before = memory_kib(self.pid)["VmHWM"]
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, memory_kib(self.pid)["VmRSS"])
            await asyncio.sleep(self.interval)

    async def stop(self) -> int:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        mem = memory_kib(self.pid)
        self.peak_kib = max(self.peak_kib, mem["VmRSS"])
        if mem["VmHWM"] > self._hwm_before:  # a new high-water mark was set during the run
            self.peak_kib = max(self.peak_kib, mem["VmHWM"])
        return self.peak_kib


class Child:
    """A child process of the bench: stdout is read for a ready line when asked, stderr goes to
    a log file. Stopped with SIGTERM (then SIGKILL) by its own pid."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.stop_seconds = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, cwd: Path) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=log,
            )
        finally:
            log.close()

    async def ready_line(self, timeout: float = 30.0) -> str:
        """The first line the child prints on stdout (its address, for the bench's children)."""
        assert self.process is not None and self.process.stdout is not None
        async with asyncio.timeout(timeout):
            line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
        return line.decode().strip()

    async def wait_for_ports(self, ports: Sequence[int], timeout: float = 30.0) -> None:
        """Until every port accepts a connection (the child has no ready line)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        for port in ports:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{self.name} did not open port {port}") from None
                    await asyncio.sleep(0.05)

    async def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                await process.wait()
        except TimeoutError:
            print(f"{self.name} still running {timeout:.0f}s after SIGTERM: killed",
                  file=sys.stderr)
            process.kill()
            await process.wait()
        self.stop_seconds = time.monotonic() - started


def python() -> str:
    return sys.executable


def machine_cpu_seconds() -> dict[str, float]:
    """Since boot, summed over all CPUs: ``busy`` (user, nice, system, irq, softirq), ``irq``
    (irq + softirq: loopback TCP is mostly softirq) and ``steal`` (time the hypervisor gave
    this machine's runnable CPUs to someone else), from the ``cpu`` line of /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return {"busy": (user + nice + system + irq + softirq) / CLOCK_TICKS,
            "irq": (irq + softirq) / CLOCK_TICKS, "steal": steal / CLOCK_TICKS}
