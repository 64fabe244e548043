"""balance.py -- CPython peer of scripts/balance.lua (the seed's bank balance).

python3 bench/peers/balance.py --mode=gil|processes|sequential --workers=W --iters=K --lock=0|1
Same exact lost-update count as balance.lua: deposits add n*2**32 + 1,
withdrawals subtract n*2**32 - 1, so final mod 2**32 counts the updates that
landed. gil/sequential: a global; processes: multiprocessing.Value('l').
Thread and process workers start together at a barrier, as in balance.lua.
"""
import multiprocessing
import sys
import threading

from benchlib import options, require_mode, measure, run_threads, run_processes, emit

o = options("balance.py", {"mode": "gil", "workers": 2, "iters": 100000, "lock": 0},
            "--mode=gil|nogil|processes|sequential --workers=W --iters=K --lock=0|1")
if o["lock"] not in (0, 1):
    sys.stderr.write("balance.py: --lock must be 0 or 1\n")
    sys.exit(2)
require_mode("balance", o)

SCALE = 1 << 32
balance = 0


def amount(i):
    return 5 + 3 * i


def run_global(n, k, lock, start=None):
    global balance
    up, down = n * SCALE + 1, n * SCALE - 1
    if start:
        start.wait()
    for _ in range(k):
        balance = balance + up
        balance = balance - down


def run_global_locked(n, k, lock, start=None):
    global balance
    up, down = n * SCALE + 1, n * SCALE - 1
    if start:
        start.wait()
    for _ in range(k):
        lock.acquire()
        try:
            balance = balance + up
            balance = balance - down
        finally:
            lock.release()


def run_value(n, k, v, start=None):
    up, down = n * SCALE + 1, n * SCALE - 1
    if start:
        start.wait()
    for _ in range(k):
        v.value = v.value + up
        v.value = v.value - down


def run_value_locked(n, k, v, start=None):
    up, down = n * SCALE + 1, n * SCALE - 1
    lock = v.get_lock()
    if start:
        start.wait()
    for _ in range(k):
        with lock:
            v.value = v.value + up
            v.value = v.value - down


if __name__ == "__main__":
    W, K = o["workers"], o["iters"]
    if o["mode"] in ("gil", "sequential"):
        lock = threading.Lock()
        f = run_global_locked if o["lock"] else run_global
        start = threading.Barrier(W) if o["mode"] == "gil" else None
        argsets = [(amount(i), K, lock, start) for i in range(W)]

        def work():
            if o["mode"] == "sequential":
                for a in argsets:
                    f(*a)
            else:
                run_threads(f, argsets)
        m = measure(work)
        final = balance
    else:
        v = multiprocessing.Value("l", 0)
        f = run_value_locked if o["lock"] else run_value
        start = multiprocessing.Barrier(W)
        m = measure(lambda: run_processes(f, [(amount(i), K, v, start) for i in range(W)]))
        final = v.value
    total = 2 * K * W
    emit("balance", o, m, {"ops": total, "iters": K, "lock": bool(o["lock"]),
                           "lost_updates": total - final % SCALE,
                           "final_balance": final // SCALE})
