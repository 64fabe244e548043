-- scripts/examples/greenlet_switch.lua: 12 56 34 78.
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

assert(expect_ok("", "greenlet_switch.lua") == "12\n56\n34\n78\n")
print("ok")
