-- scripts/examples/thread_local_speed.lua: thread-local values never mix;
-- both GIL modes.
local gillua = assert(os.getenv("GILLUA"), "GILLUA is set by tests/run_scripts.sh")

-- Runs an example with gillua; returns stdout, exit code, stderr.
local function run(flags, script, args)
  local errf = os.tmpname()
  local cmd = string.format("%s %s scripts/examples/%s %s 2>%s; echo \"exit=$?\"",
                            gillua, flags, script, args or "", errf)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)\n$"))
  out = out:gsub("exit=%d+\n$", "")
  local f = assert(io.open(errf))
  local err = f:read("a")
  f:close()
  os.remove(errf)
  return out, code, err
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]*") do if l ~= "" then t[#t + 1] = l end end
  return t
end

local function expect_ok(flags, script, args)
  local out, code, err = run(flags, script, args)
  assert(code == 0, string.format("%s %s: exit %s\n%s%s", script, flags, tostring(code), out, err))
  return out, err
end

for _, flags in ipairs{"--gil=on", "--gil=on --switch=bytecodes:3", "--gil=off"} do
  local L = lines(expect_ok(flags, "thread_local_speed.lua", "20000"))
  assert(#L == 4, flags)
  local a, b = L[1], L[2]
  if a > b then a, b = b, a end
  assert(a == "Thread-1-  local.x =0" and b == "Thread-2-  local.x =0", flags .. ": " .. L[1] .. "|" .. L[2])
  assert(L[3] == "num =\t0", L[3])
  assert(tonumber(L[4]) and tonumber(L[4]) >= 0, L[4])
end
print("ok")
