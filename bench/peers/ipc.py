"""ipc.py -- CPython peer of scripts/bench_ipc.lua: the same four
inter-process measurements with multiprocessing (fork start method).

  queue     small messages/s through a multiprocessing.Queue, one producer
            process, the parent consuming
  pipe      round-trip latency of a small message over a Pipe (echo child)
  pool      Pool(2).map of N trivial tasks (start + map + join) vs a loop
  manager   Manager dict operations per second (set+get pairs)

Usage: python3 bench/peers/ipc.py [which|all] [scale] [--json]
"""
import multiprocessing as mp
import time

from benchlib import measure_args, report, print_json

WHICH, SCALE, _ = measure_args()


def producer(q, n):
    for i in range(n):
        q.put(i)


def bench_queue():
    n = int(200000 * SCALE)
    q = mp.Queue()
    p = mp.Process(target=producer, args=(q, n))
    t0 = time.perf_counter()
    p.start()
    for _ in range(n):
        q.get()
    dt = time.perf_counter() - t0
    p.join()
    report("queue_msgs_per_s", n / dt, "msg/s")


def echo(conn):
    while True:
        m = conn.recv()
        if m is False:
            return
        conn.send(m)


def bench_pipe():
    n = int(20000 * SCALE)
    a, b = mp.Pipe()
    p = mp.Process(target=echo, args=(b,))
    p.start()
    for _ in range(100):
        a.send(1)
        a.recv()
    t0 = time.perf_counter()
    for i in range(n):
        a.send(i)
        a.recv()
    dt = time.perf_counter() - t0
    a.send(False)
    p.join()
    report("pipe_roundtrip_us", dt / n * 1e6, "us")


def double(x):
    return x * 2


def bench_pool():
    n = int(10000 * SCALE)
    items = list(range(1, n + 1))
    t0 = time.perf_counter()
    seq = [double(x) for x in items]
    dseq = time.perf_counter() - t0
    t0 = time.perf_counter()
    pool = mp.Pool(2)
    out = pool.map(double, items)
    pool.close()
    pool.join()
    dpool = time.perf_counter() - t0
    assert len(out) == n and out[-1] == 2 * n and seq[-1] == out[-1]
    report("pool_map_s", dpool, "s (Pool(2) start + map + join)")
    report("pool_seq_s", dseq, "s (sequential loop)")


def bench_manager():
    n = int(20000 * SCALE)
    with mp.Manager() as mg:
        d = mg.dict()
        t0 = time.perf_counter()
        for i in range(n):
            d[i % 100] = i
            d[i % 100]
        dt = time.perf_counter() - t0
    report("manager_ops_per_s", 2 * n / dt, "ops/s")


if __name__ == "__main__":
    mp.set_start_method("fork")
    table = {"queue": bench_queue, "pipe": bench_pipe, "pool": bench_pool, "manager": bench_manager}
    if WHICH == "all":
        for f in (bench_queue, bench_pipe, bench_pool, bench_manager):
            f()
    else:
        table[WHICH]()
    print_json()
