-- bench_peers.lua — the CPython peers (bench/peers/*.py) print the same
-- JSON line as gillua's scripts, tagged impl "cpython-X.Y", and report
-- mode nogil unavailable. Skipped (with a message) when python3 is missing.
-- timeout: 60

local T = dofile("tests/report/benchtest.lua")

if not os.execute("command -v python3 >/dev/null 2>&1 && python3 -c 'import sys' >/dev/null 2>&1") then
  print("python3 missing: peers not tested (the harness reports them as not run)")
  return
end

local function peer(script, args)
  local argv = {"python3", "bench/peers/" .. script}
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = T.q(a) end
  local p = io.popen(table.concat(parts, " ") .. " 2>&1", "r")
  local out = p:read("a")
  assert(p:close(), out)
  return T.json.decode(out:match("[^\n]*{[^\n]*"))
end

for _, mode in ipairs({"sequential", "gil", "processes"}) do
  local d = peer("dead_loop.py", {"--mode=" .. mode, "--workers=2", "--iters=1000"})
  assert(d.impl:match("^cpython%-%d+%.%d+$") and d.bench == "dead_loop" and d.mode == mode)
  assert(d.ops == 2000 and d.wall_s > 0 and d.cpu_s >= 0 and d.cores_used >= 0 and d.ops_per_s > 0)
  local b = peer("balance.py", {"--mode=" .. mode, "--workers=2", "--iters=500", "--lock=1"})
  assert(b.lost_updates == 0 and b.final_balance == 0 and b.ops == 2000 and b.lock == true)
  local m = peer("multi_process.py", {"--mode=" .. mode, "--workers=2", "--tasks=1", "--size=2000"})
  assert(m.primes == 303 and m.ops == 2)
end
-- io_bound.py against the delay server (a gillua child serving until its stdin closes)
do
  local portfile = os.tmpname()
  local server = assert(io.popen(T.q(T.gillua) .. " scripts/lib/delay_httpd.lua 0.01 > " .. T.q(portfile), "w"))
  local port
  for _ = 1, 500 do
    local f = io.open(portfile); port = f and math.tointeger(tonumber(f:read("l"))); if f then f:close() end
    if port then break end
    os.execute("sleep 0.02")
  end
  os.remove(portfile)
  assert(port, "the delay server did not start")
  for _, mode in ipairs({"sequential", "gil", "processes"}) do
    local d = peer("io_bound.py", {"--mode=" .. mode, "--workers=2", "--requests=2", "--delay=0.01",
                                   "--bytes=10", "--port=" .. port})
    assert(d.bench == "io_bound" and d.mode == mode and d.ops == 4 and d.wall_s >= 0.02, mode)
  end
  server:close()
end
local n = peer("dead_loop.py", {"--mode=nogil"})
assert(n.unavailable and n.unavailable:find("no GIL%-off"))
print("peers ok")
