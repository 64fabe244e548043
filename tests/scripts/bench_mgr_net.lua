-- bench_mgr_net.lua — scripts/bench_mgr_net.lua and its CPython peer
-- bench/peers/mgr_net.py at a tiny scale: each ends with one JSON line
-- holding both figures, positive (the peer is skipped without python3).
-- timeout: 60
local T = dofile("tests/report/benchtest.lua")

local function last_json(cmd)
  local p = io.popen(cmd .. " 2>&1", "r")
  local out = p:read("a")
  assert(p:close(), out)
  return T.json.decode(out:match("({[^\n]*})%s*$"))
end

local g = last_json(T.q(T.gillua) .. " scripts/bench_mgr_net.lua all 0.01 --json")
assert(g.mgr_call_us > 0 and g.mgr_queue_items_per_s > 0)
if os.execute("command -v python3 >/dev/null 2>&1") then
  local p = last_json("python3 bench/peers/mgr_net.py all 0.01 --json")
  assert(p.mgr_call_us > 0 and p.mgr_queue_items_per_s > 0)
else
  print("python3 missing: the peer is not tested")
end
