#!/usr/bin/env python3
"""Runs a command and writes, as one JSON object to OUT: its start time
(CLOCK_REALTIME, ns, as a string), its wall time, and the user and system CPU time of it
and every child it waited for (wait4's rusage, in microseconds).

    python3 rusage.py OUT COMMAND [ARG...]
"""
import json
import os
import sys
import time

out, argv = sys.argv[1], sys.argv[2:]
start_ns = time.time_ns()
t0 = time.monotonic_ns()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall_ns = time.monotonic_ns() - t0
with open(out, "w") as f:
    json.dump({
        "start_ns": str(start_ns),  # beyond 2**53: a string, for BigInt
        "wall_us": wall_ns / 1000,
        "user_us": ru.ru_utime * 1e6,
        "sys_us": ru.ru_stime * 1e6,
        "status": os.waitstatus_to_exitcode(status),
    }, f)
