"""mgr_net.py -- CPython peer of scripts/bench_mgr_net.lua: managers over
TCP on loopback (BaseManager, fork start method).

  call      round trip of a proxy method call (a counter's add), in us
  queue     items/s through a queue served by a manager: a producer
            process puts, the parent gets, both through proxies

Usage: python3 bench/peers/mgr_net.py [which|all] [scale] [--json]
"""
import multiprocessing as mp
import queue
import time
from multiprocessing.managers import BaseManager

from benchlib import measure_args, report, print_json

WHICH, SCALE, _ = measure_args()


class Counter:
    def __init__(self):
        self.n = 0

    def add(self, n):
        self.n += n
        return self.n


Q = queue.Queue()


def get_queue():
    return Q


class M(BaseManager):
    pass


M.register("Counter", Counter)
M.register("get_queue", get_queue)


def bench_call(m):
    n = int(20000 * SCALE)
    c = m.Counter()
    for _ in range(200):
        c.add(1)
    t0 = time.perf_counter()
    for _ in range(n):
        c.add(1)
    dt = time.perf_counter() - t0
    assert c.add(0) == n + 200
    report("mgr_call_us", dt / n * 1e6, "us per call")


def producer(address, n):
    c = M(address=address, authkey=b"bench")
    c.connect()
    pq = c.get_queue()
    for i in range(n):
        pq.put(i)


def bench_queue(m):
    n = int(20000 * SCALE)
    cq = m.get_queue()
    p = mp.Process(target=producer, args=(m.address, n))
    t0 = time.perf_counter()
    p.start()
    for _ in range(n):
        cq.get()
    dt = time.perf_counter() - t0
    p.join()
    report("mgr_queue_items_per_s", n / dt, "items/s")


if __name__ == "__main__":
    mp.set_start_method("fork")
    m = M(address=("127.0.0.1", 0), authkey=b"bench")
    m.start()
    if WHICH in ("all", "call"):
        bench_call(m)
    if WHICH in ("all", "queue"):
        bench_queue(m)
    m.shutdown()
    print_json()
