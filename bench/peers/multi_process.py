"""multi_process.py -- CPython peer of scripts/multi_process.lua.

python3 bench/peers/multi_process.py --mode=gil|processes|sequential --workers=P --tasks=T --size=M
T x P tasks, each counting the primes below M by trial division, through
Pool(P).map / P threads on a queue.Queue / a sequential loop.
"""
import multiprocessing
import queue
import sys

from benchlib import options, require_mode, measure, run_threads, emit

o = options("multi_process.py", {"mode": "processes", "workers": 2, "tasks": 8, "size": 30000},
            "--mode=gil|nogil|processes|sequential --workers=P --tasks=T --size=M")
require_mode("multi_process", o)


def count_primes(m):
    c = 0
    for n in range(2, m):
        prime = True
        d = 2
        while d * d <= n:
            if n % d == 0:
                prime = False
                break
            d += 1
        if prime:
            c += 1
    return c


def pool_worker(tasks, results):
    while True:
        m = tasks.get()
        if not m:
            return
        results.put(count_primes(m))


if __name__ == "__main__":
    W = o["workers"]
    n = o["tasks"] * W
    expected = count_primes(o["size"])
    results = []

    def work():
        global results
        if o["mode"] == "sequential":
            results = [count_primes(o["size"]) for _ in range(n)]
        elif o["mode"] == "processes":
            with multiprocessing.Pool(W) as pool:
                results = pool.map(count_primes, [o["size"]] * n)
                pool.close()
                pool.join()
        else:
            tasks, out = queue.Queue(), queue.Queue()
            for _ in range(n):
                tasks.put(o["size"])
            for _ in range(W):
                tasks.put(False)
            run_threads(pool_worker, [(tasks, out)] * W)
            results = [out.get() for _ in range(n)]
    m = measure(work)
    bad = sum(1 for r in results if r != expected)
    if bad or len(results) != n:
        sys.stderr.write("multi_process.py: %d of %d results wrong\n" % (bad, n))
        sys.exit(1)
    emit("multi_process", o, m, {"ops": n, "tasks": n, "size": o["size"], "primes": expected})
