"""io_bound.py -- CPython peer of scripts/io_bound.lua (the I/O-bound benchmark).

python3 bench/peers/io_bound.py --mode=gil|processes|sequential --workers=W
        --requests=R --delay=S --bytes=N --port=P
W workers each make R HTTP GETs (urllib) to the local delayed server on
port P (scripts/lib/delay_httpd.lua, started by the harness for gillua's
runs and these alike); ops = W x R requests. Mode gil is CPython threads,
which release the GIL while they wait for the socket.
"""
import sys
import urllib.request

from benchlib import options, require_mode, measure, run_threads, run_processes, emit

o = options("io_bound.py", {"mode": "gil", "workers": 4, "requests": 5, "delay": 0.05,
                            "bytes": 1000, "port": 0},
            "--mode=gil|processes|sequential --workers=W --requests=R --delay=S --bytes=N --port=P")
require_mode("io_bound", o)
if o["port"] <= 0:
    sys.stderr.write("io_bound.py: --port=P of a running delay server is needed "
                     "(gillua scripts/lib/delay_httpd.lua DELAY prints one)\n")
    sys.exit(2)
URL = "http://127.0.0.1:%d/bytes/%d" % (o["port"], o["bytes"])


def worker(url, n, size):
    for _ in range(n):
        with urllib.request.urlopen(url) as r:
            body = r.read()
        assert r.status == 200 and len(body) == size, url


def work():
    argsets = [(URL, o["requests"], o["bytes"])] * o["workers"]
    if o["mode"] == "sequential":
        for a in argsets:
            worker(*a)
    elif o["mode"] == "processes":
        run_processes(worker, argsets)
    else:
        run_threads(worker, argsets)


if __name__ == "__main__":
    m = measure(work)
    emit("io_bound", o, m, {"ops": o["workers"] * o["requests"], "requests": o["requests"],
                            "delay_s": o["delay"], "ideal_s": o["requests"] * o["delay"]})
