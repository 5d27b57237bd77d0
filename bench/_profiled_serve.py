"""``arspay serve`` under cProfile, for ``bench/agi_calls.py --profile``.

    python bench/_profiled_serve.py OUT.prof serve --config FILE

cProfile's default wall clock is kept: a CPU-time clock (``time.process_time``) costs a system
call per event and slows the server tenfold. Time spent idle shows up in ``select.epoll.poll``,
which the bench leaves out of its summary.
"""

from __future__ import annotations

import cProfile
import sys

from ivr.cli import main

if __name__ == "__main__":
    profiler = cProfile.Profile()
    try:
        profiler.runcall(main, sys.argv[2:])
    finally:
        profiler.dump_stats(sys.argv[1])
