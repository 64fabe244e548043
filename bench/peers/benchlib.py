"""benchlib.py -- what the CPython peers of the gillua benchmarks share.

Same options (--name=value), same modes and the same one JSON line as
scripts/benchlib.lua, so the harness reads both alike. Rows are tagged
impl "cpython-X.Y"; mode "gil" is CPython's threading (under its GIL,
switch "interval:MS" from sys.getswitchinterval()); mode "nogil" does not
exist in CPython 3.11 and is reported unavailable.
"""
import json
import multiprocessing
import os
import resource
import sys
import threading
import time

IMPL = "cpython-%d.%d" % sys.version_info[:2]


def options(name, defaults, usage):
    o = dict(defaults)
    o.setdefault("switch", "")
    for a in sys.argv[1:]:
        if not a.startswith("--") or "=" not in a:
            die(name, usage, "bad argument '%s' (expected --name=value)" % a)
        k, v = a[2:].split("=", 1)
        if k not in o:
            die(name, usage, "unknown option --" + k)
        if isinstance(o[k], (int, float)):
            try:
                n = int(v)
            except ValueError:
                try:
                    n = float(v)
                except ValueError:
                    die(name, usage, "--%s needs a number, got '%s'" % (k, v))
            o[k] = n
        else:
            o[k] = v
    if o.get("mode") not in (None, "gil", "nogil", "processes", "sequential"):
        die(name, usage, "--mode must be gil, nogil, processes or sequential")
    if o["switch"]:
        kind, _, ms = o["switch"].partition(":")
        if kind != "interval":
            unavailable(name.split(".")[0], o,
                        "CPython has only interval switching (got %s)" % o["switch"])
        sys.setswitchinterval(float(ms) / 1000.0)
    return o


def die(name, usage, msg):
    sys.stderr.write("%s: %s\nusage: %s %s\n" % (name, msg, name, usage))
    sys.exit(2)


def policy():
    ms = sys.getswitchinterval() * 1000.0
    return "interval:%g" % ms


def unavailable(bench, o, why):
    print(json.dumps({"bench": bench, "mode": o.get("mode"), "workers": o.get("workers"),
                      "impl": IMPL, "unavailable": why}, sort_keys=True))
    sys.exit(0)


def require_mode(bench, o):
    if o["mode"] == "nogil":
        unavailable(bench, o, "%s has no GIL-off threads" % IMPL)
    if o["mode"] == "processes":
        multiprocessing.set_start_method("fork", force=True)


def cpu():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def machine_busy():
    """Busy CPU seconds of the whole machine (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    tck = os.sysconf("SC_CLK_TCK")
    return (v[0] + v[1] + v[2] + sum(v[5:8])) / tck


def measure(work):
    c0, b0, w0 = cpu(), machine_busy(), time.perf_counter()
    work()
    w1 = time.perf_counter()
    c1, b1 = cpu(), machine_busy()
    wall, used = w1 - w0, c1 - c0
    others = None
    if b0 is not None and b1 is not None and wall > 0:
        others = max(0.0, (b1 - b0 - used) / wall)
    return {"wall_s": wall, "cpu_s": used, "cpu_source": "getrusage",
            "cores_used": used / wall if wall > 0 else 0, "switches": None,
            "others_cores": others}


def run_threads(f, argsets):
    ts = [threading.Thread(target=f, args=a, name="worker-%d" % (i + 1))
          for i, a in enumerate(argsets)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def run_processes(f, argsets):
    ps = [multiprocessing.Process(target=f, args=a, name="worker-%d" % (i + 1))
          for i, a in enumerate(argsets)]
    for p in ps:
        p.start()
    for i, p in enumerate(ps):
        p.join()
        if p.exitcode != 0:
            raise RuntimeError("worker process %d exited with %s" % (i + 1, p.exitcode))


def emit(bench, o, m, extra):
    r = {"bench": bench, "impl": IMPL, "mode": o["mode"], "workers": o["workers"],
         "switch": policy() if o["mode"] == "gil" else None}
    r.update(m)
    r.update(extra)
    if r.get("ops") and r["wall_s"] > 0:
        r["ops_per_s"] = r["ops"] / r["wall_s"]
    r = {k: v for k, v in r.items() if v is not None}
    sys.stdout.write(json.dumps(r, sort_keys=True) + "\n")
    sys.stdout.flush()


# ---- the measurement scripts (ipc.py, mgr_net.py): [which|all] [scale] [--json]

results = {}


def measure_args():
    """(which, scale, json): which measurement or "all", the size factor,
    and whether to end with one JSON line of every figure (print_json)."""
    args = [a for a in sys.argv[1:] if a != "--json"]
    return (args[0] if args else "all", float(args[1]) if len(args) > 1 else 1.0,
            "--json" in sys.argv)


def report(name, value, unit):
    """Prints one figure (and keeps it for the JSON line)."""
    results[name] = value
    print("%-22s %14.6g %s" % (name, value, unit))


def print_json():
    if measure_args()[2]:
        print(json.dumps(results))
