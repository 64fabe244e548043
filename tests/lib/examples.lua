-- examples.lua — what the example tests share: run a program of
-- scripts/examples/ with the gillua under test ($GILLUA, exported by
-- tests/run_scripts.sh) and look at its output. Loaded with dofile from
-- the repository root (where the driver runs the tests).
local E = {}

E.gillua = assert(os.getenv("GILLUA"), "GILLUA is set by tests/run_scripts.sh")

-- Runs an example with gillua; returns stdout, exit code, stderr.
function E.run(flags, script, args)
  local errf = os.tmpname()
  local cmd = string.format("%s %s scripts/examples/%s %s 2>%s; echo \"exit=$?\"",
                            E.gillua, flags, script, args or "", errf)
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

-- The non-empty lines of s.
function E.lines(s)
  local t = {}
  for l in s:gmatch("[^\n]*") do if l ~= "" then t[#t + 1] = l end end
  return t
end

-- Runs an example that must exit 0; returns stdout, stderr.
function E.expect_ok(flags, script, args)
  local out, code, err = E.run(flags, script, args)
  assert(code == 0, string.format("%s %s: exit %s\n%s%s", script, flags, tostring(code), out, err))
  return out, err
end

return E
