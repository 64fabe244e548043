-- benchtest.lua — helpers for the benchmark script tests
-- (tests/scripts/bench_*.lua): run a benchmark with the gillua under test
-- and check the shape of its JSON line.

local T = {}
T.json = dofile("bench/json.lua")
T.gillua = os.getenv("GILLUA") or "build/gillua"

local function q(s)
  s = tostring(s)
  if s:match("^[%w%-_./:=,+]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
T.q = q

-- Runs argv; returns the decoded last JSON line of stdout. Fails the test
-- (error) when the command fails, prints no JSON, or reports the mode
-- unavailable.
function T.run(argv)
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = q(a) end
  local errfile = os.tmpname()
  local cmd = table.concat(parts, " ") .. " 2>" .. errfile
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local ok, how, code = p:close()
  local ef = io.open(errfile)
  local err = ef and ef:read("a") or ""
  if ef then ef:close() end
  os.remove(errfile)
  local line
  for l in out:gmatch("[^\n]+") do if l:match("^{") then line = l end end
  if not ok or not line then
    error(string.format("%s: %s %s\nstdout: %s\nstderr: %s", cmd, how, tostring(code), out, err), 2)
  end
  local v = T.json.decode(line)
  if v.unavailable then error(cmd .. ": mode unavailable: " .. v.unavailable, 2) end
  return v, err
end

-- gillua with the interpreter flags a mode needs.
function T.argv(mode, switch, script, args)
  local a = {T.gillua}
  if mode == "nogil" then a[#a + 1] = "--gil=off"
  else
    a[#a + 1] = "--gil=on"
    if switch then a[#a + 1] = "--switch=" .. switch end
  end
  a[#a + 1] = script
  for _, x in ipairs(args) do a[#a + 1] = x end
  return a
end

-- Fields every benchmark line has, with sane values.
function T.check_common(v, bench, mode, workers)
  local where = bench .. " " .. mode .. " w=" .. workers
  assert(v.bench == bench, where .. ": bench")
  assert(v.impl == "gillua", where .. ": impl")
  assert(v.mode == mode and v.workers == workers, where .. ": mode/workers")
  assert(type(v.wall_s) == "number" and v.wall_s > 0, where .. ": wall_s > 0")
  assert(type(v.cpu_s) == "number" and v.cpu_s >= 0, where .. ": cpu_s >= 0")
  assert(type(v.cores_used) == "number" and v.cores_used >= 0, where .. ": cores_used")
  assert(math.type(v.ops) == "integer" and v.ops > 0, where .. ": ops")
  assert(v.ops_per_s > 0, where .. ": ops_per_s")
  assert(math.type(v.switches) == "integer" and v.switches >= 0, where .. ": switches")
  if mode == "gil" then assert(type(v.switch) == "string" and v.switch:match("^%a+:"), where .. ": switch policy") end
  if mode == "sequential" then assert(v.switches == 0, where .. ": no switches when alone") end
end

T.modes = {"sequential", "gil", "nogil", "processes"}

return T
