-- bench/single.lua (the single-thread job: gillua against lua5.4 on
-- scripts/bench_single.lua's workloads) at a tiny scale: one row per
-- workload, both interpreters printed the same checksum, and the ratio
-- figures are there and consistent. No speed is asserted.
local gillua = assert(os.getenv("GILLUA"), "GILLUA not set")
assert(os.execute("command -v lua5.4 >/dev/null 2>&1"), "lua5.4 is not installed: run `make deps`")
local rows = dofile("bench/single.lua")(gillua, "lua5.4", ".", true, 0.001)
local want = {"fib", "loop", "coroutine", "string", "sort"}
assert(#rows == #want, "rows: " .. #rows)
for i, r in ipairs(rows) do
  assert(r.bench == "single " .. want[i], tostring(r.bench))
  assert(not r.unavailable, r.bench .. ": " .. tostring(r.unavailable))
  for _, k in ipairs({"ratio_median", "ratio_min", "ratio_max", "gillua_s", "lua54_s"}) do
    assert(type(r[k]) == "number" and r[k] > 0, r.bench .. ": " .. k .. " = " .. tostring(r[k]))
  end
  assert(r.ratio_min <= r.ratio_median and r.ratio_median <= r.ratio_max, r.bench .. ": ratios out of order")
  if r.cpu_ratio_median then   -- left out when a run's CPU time reads 0
    assert(r.cpu_ratio_min <= r.cpu_ratio_median and r.cpu_ratio_median <= r.cpu_ratio_max,
           r.bench .. ": CPU ratios out of order")
  end
  assert(r.flags:find("9 interleaved pairs", 1, true), r.flags)
end

-- an interpreter that prints another checksum is reported, not timed
local fake = os.tmpname()
local f = assert(io.open(fake, "w"))
f:write("#!/bin/sh\necho other\n")
f:close()
assert(os.execute("chmod +x " .. fake))
rows = dofile("bench/single.lua")(gillua, fake, ".", true, 0.001)
os.remove(fake)
assert(#rows == #want)
for _, r in ipairs(rows) do
  assert(r.unavailable and r.unavailable:find("outputs differ", 1, true), tostring(r.unavailable))
  assert(r.ratio_median == nil)
end

-- an unknown workload: the usage names them all
local out = io.popen(gillua .. " scripts/bench_single.lua nosuch 2>&1"):read("a")
assert(out:find("usage: bench_single.lua coroutine|fib|loop|sort|string", 1, true), out)
print("bench_single ok")
