-- scripts/examples/queue_writer_reader.lua: A..E put and got in order,
-- each got after it was put; the daemon reader does not keep the program
-- alive; both GIL modes.
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

for _, flags in ipairs{"--gil=on", "--gil=off"} do
  local L = lines(expect_ok(flags, "queue_writer_reader.lua", "0.01"))
  assert(L[1] == "write thread = \twriter" and L[2] == "read  thread = \treader", L[1])
  local put, got = {}, {}
  for i = 3, #L do
    local v = L[i]:match("^Put (%u) to queue$")
    if v then put[#put + 1] = v; put[v] = i
    else
      v = assert(L[i]:match("^get (%u) from queue$"), "unexpected: " .. L[i])
      got[#got + 1] = v
      assert(put[v] and put[v] < i, v .. " got before it was put")
    end
  end
  assert(table.concat(put) == "ABCDE" and table.concat(got) == "ABCDE", flags)
end
print("ok")
