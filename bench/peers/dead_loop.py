"""dead_loop.py -- CPython peer of scripts/dead_loop.lua (the seed's dead loop).

python3 bench/peers/dead_loop.py --mode=gil|processes|sequential --workers=W --iters=N
Each worker spins `x = x * 1.0` N times; ops = W x N.
"""
from benchlib import options, require_mode, measure, run_threads, run_processes, emit

o = options("dead_loop.py", {"mode": "gil", "workers": 2, "iters": 20000000},
            "--mode=gil|nogil|processes|sequential --workers=W --iters=N")
require_mode("dead_loop", o)


def dead_loop(n):
    x = 0
    for _ in range(n):
        x = x * 1.0
    return x


def work():
    argsets = [(o["iters"],)] * o["workers"]
    if o["mode"] == "sequential":
        for a in argsets:
            dead_loop(*a)
    elif o["mode"] == "processes":
        run_processes(dead_loop, argsets)
    else:
        run_threads(dead_loop, argsets)


if __name__ == "__main__":
    m = measure(work)
    emit("dead_loop", o, m, {"ops": o["workers"] * o["iters"], "iters": o["iters"]})
