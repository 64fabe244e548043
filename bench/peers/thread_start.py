"""thread_start.py -- CPython peer of scripts/bench_thread_start.lua.

python3 bench/peers/thread_start.py --count=500
Starts and joins --count threads one after another, each running an empty
target: threading.Thread(target=f).start(); join(). One JSON line with
us_per_thread, as the gillua script prints.
"""
import threading

from benchlib import options, measure, emit

o = options("thread_start.py", {"count": 500}, "--count=N")
o["mode"], o["workers"] = "gil", 1


def empty():
    pass


def work():
    for _ in range(o["count"]):
        t = threading.Thread(target=empty)
        t.start()
        t.join()


m = measure(work)
emit("thread_start", o, m, {"ops": o["count"], "us_per_thread": m["wall_s"] / o["count"] * 1e6})
