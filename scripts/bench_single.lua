-- bench_single.lua — single-thread workloads, to hold gillua to lua5.4's
-- speed where there is no second thread and so nothing for the GIL to do.
-- Plain Lua 5.4 (no gillua module), so the same file runs under both:
--
--     lua5.4 scripts/bench_single.lua fib [scale]
--     build/gillua scripts/bench_single.lua fib [scale]
--
-- Workloads: fib (recursive calls), loop (arithmetic in a for loop),
-- coroutine (ping-pong through coroutine.wrap: one yield each way per
-- step), string (building with table.concat, .. and string.format),
-- sort (table.sort of random numbers and of strings with a comparator).
-- 'scale' multiplies the sizes (default 1: each takes ~0.3-0.5 s on the
-- 2-core VM). Prints one line: "<workload> <checksum>"; the checksum
-- makes the work observable (and equal under both interpreters). Time
-- it from outside (bench/single.lua runs both interpreters interleaved).

local name, scale = arg[1], tonumber(arg[2] or "1")
if not scale or scale <= 0 then error("bad scale '" .. tostring(arg[2]) .. "'", 0) end

local function n_of(base) return math.max(1, math.floor(base * scale)) end

local workloads = {}

function workloads.fib()
  local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
  local n = 33
  if scale ~= 1 then n = math.max(5, math.floor(33 + math.log(scale, 1.618) + 0.5)) end
  return fib(n)
end

function workloads.loop()
  local s, x = 0, 0.5
  for i = 1, n_of(36000000) do
    s = s + (i % 7) * 3
    x = x * 1.0000001
  end
  return s + math.floor(x)
end

function workloads.coroutine()
  local gen = coroutine.wrap(function(a)
    while true do a = coroutine.yield(a * 2 + 1) end
  end)
  local s = 0
  for i = 1, n_of(3000000) do s = (s + gen(i)) % 1000003 end
  return s
end

function workloads.string()
  local total = 0
  for round = 1, n_of(150) do
    local parts = {}
    for i = 1, 5000 do
      parts[#parts + 1] = string.format("%d:%s", i, ("x"):rep(i % 7)) .. ";"
    end
    local s = table.concat(parts)
    total = total + #s + #(s:upper():sub(1, round))
  end
  return total
end

function workloads.sort()
  local seed = 12345
  local function rand() seed = (seed * 1103515245 + 12345) % 2147483648; return seed end
  local sum = 0
  for round = 1, n_of(15) do
    local t, u = {}, {}
    for i = 1, 40000 do t[i] = rand() end
    for i = 1, 10000 do u[i] = tostring(rand()) end
    table.sort(t)
    table.sort(u, function(a, b) return a > b end)
    sum = (sum + t[1] + t[#t] + #u[1] + round) % 1000000007
  end
  return sum
end

local run = workloads[name]
if not run then
  local names = {}
  for k in pairs(workloads) do names[#names + 1] = k end
  table.sort(names)
  error("usage: bench_single.lua " .. table.concat(names, "|") .. " [scale]", 0)
end
print(name, run())
