-- scripts/examples/gevent_download.lua: every task starts before any
-- finishes, byte counts are the files' sizes, smaller files finish first,
-- a missing file prints its error, and the pool part prints {nil, ...}.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

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
