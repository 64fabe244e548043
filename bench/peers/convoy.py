"""convoy.py -- CPython peer of scripts/bench_gil_convoy.lua (the convoy effect).

python3 bench/peers/convoy.py --seconds=0.5 --work=200 [--switch=interval:MS]
An I/O thread does round trips to an echo process over a multiprocessing
Pipe plus a little work per trip, alone and then beside a CPU-bound thread.
"""
import multiprocessing
import socket
import sys
import threading
import time

from benchlib import options, measure, emit

o = options("convoy.py", {"seconds": 0.5, "work": 200, "channel": "pipe"},
            "--seconds=S --work=N --channel=pipe|tcp")
if o["channel"] not in ("pipe", "tcp"):
    sys.stderr.write("convoy.py: --channel must be pipe or tcp\n")
    sys.exit(2)
o["mode"], o["workers"] = "gil", 2
stop_cpu = False


def echo(conn):
    while True:
        v = conn.recv()
        if v is False:
            return
        conn.send(v)


def tcp_echo(conn):
    srv = socket.create_server(("127.0.0.1", 0))
    conn.send(srv.getsockname()[1])
    c, _ = srv.accept()
    srv.close()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = c.makefile("rwb", buffering=0)
    for line in f:
        if line == b"\n":
            break
        f.write(line)
    c.close()


class TcpChannel:
    """send/recv of numbers, a line each, over a TCP connection to tcp_echo."""
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rwb", buffering=0)

    def send(self, v):
        self.f.write(b"%d\n" % v if v is not False else b"\n")

    def recv(self):
        return int(self.f.readline())


def io_thread(seconds, work, out):
    mine, theirs = multiprocessing.Pipe()
    child = multiprocessing.Process(target=tcp_echo if o["channel"] == "tcp" else echo,
                                    args=(theirs,), name="echo")
    child.start()
    if o["channel"] == "tcp":
        mine = TcpChannel(mine.recv())
    n, x = 0, 0.0
    t0 = time.perf_counter()
    t_end = t0 + seconds
    while time.perf_counter() < t_end:
        mine.send(n)
        x = x + mine.recv()
        for _ in range(work):
            x = x * 1.0
        n += 1
    out["trips_per_s"] = n / (time.perf_counter() - t0)
    mine.send(False)
    child.join()


def cpu_thread(out):
    n = 0
    t0 = time.perf_counter()
    while not stop_cpu:
        for _ in range(1000):
            n += 1
    out["loops_per_s"] = n / (time.perf_counter() - t0)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork", force=True)
    alone, beside, cpu = {}, {}, {}

    def run_alone():
        t = threading.Thread(target=io_thread, args=(o["seconds"], o["work"], alone))
        t.start()
        t.join()

    def run_beside():
        global stop_cpu
        c = threading.Thread(target=cpu_thread, args=(cpu,), name="cpu")
        t = threading.Thread(target=io_thread, args=(o["seconds"], o["work"], beside), name="io")
        c.start()
        t.start()
        t.join()
        stop_cpu = True
        c.join()

    m0 = measure(run_alone)
    m = measure(run_beside)
    emit("gil_convoy", o, m, {"channel": o["channel"], "work": o["work"],
                              "alone_trips_per_s": alone["trips_per_s"],
                              "beside_trips_per_s": beside["trips_per_s"],
                              "slowdown": alone["trips_per_s"] / beside["trips_per_s"],
                              "cpu_loops_per_s": cpu["loops_per_s"], "alone_wall_s": m0["wall_s"]})
