-- scripts/examples/balance_shared.lua: the GIL-off balance on a shared
-- multiprocessing.Value: exactly 0 with the lock; without it the two
-- threads run at the same time on two cores and lose updates (up to three
-- runs, as in example_balance.lua, in case the second core is busy).
-- timeout: 120
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

for _, flags in ipairs{"--gil=off", "--gil=on --switch=bytecodes:3"} do
  local out = expect_ok(flags, "balance_shared.lua", "lock 100000")
  assert(out == "0\n", flags .. ": with the lock: " .. out)
end
local lost
for attempt = 1, 3 do
  local out = expect_ok("--gil=off", "balance_shared.lua", "nolock 300000")
  local b = assert(tonumber(out:match("^(%-?%d+)\n$")), out)
  if b ~= 0 then lost = b break end
end
assert(lost, "no lost update in three GIL-off runs without the lock")
print("GIL off without lock: final balance " .. lost)
print("ok")
