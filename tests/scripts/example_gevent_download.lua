-- scripts/examples/gevent_download.lua: every task starts before any
-- finishes, byte counts are the files' sizes, smaller files finish first,
-- a missing file prints its error, and the pool part prints {nil, ...}.
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

local function size(p)
  local f = assert(io.open(p, "rb")); local n = #f:read("a"); f:close(); return n
end
local files = {"scripts/examples/gevent_download.lua", "scripts/examples/thread_urls.lua",
               "scripts/examples/greenlet_switch.lua"}
local L = lines(expect_ok("", "gevent_download.lua"))
-- first program: 3 visits, then 3 completions by increasing size
for i = 1, 3 do assert(L[i] == "Visit --> " .. files[i], L[i]) end
local sizes = {}
for i = 4, 6 do
  local n, f = L[i]:match("^(%d+) bytes received from (.*)%.$")
  assert(n, L[i])
  assert(tonumber(n) == size(f), f)
  sizes[#sizes + 1] = tonumber(n)
end
assert(sizes[1] <= sizes[2] and sizes[2] <= sizes[3], "smaller downloads finish first")
assert(#L == 6 + 3 + 6 + 1 and L[#L] == "{nil, nil, nil}", L[#L])
local finish = 0
for i = 7, #L - 1 do if L[i]:find("^url:.* %-%-%->finish$") then finish = finish + 1 end end
assert(finish == 3)
-- a missing "URL" reports its error and the others still complete
local out = expect_ok("", "gevent_download.lua", "scripts/examples/greenlet_switch.lua /nonexistent/file")
assert(out:find("/nonexistent/file: No such file or directory"), out)
assert(out:find(size("scripts/examples/greenlet_switch.lua") .. " bytes received"), out)
print("ok")
