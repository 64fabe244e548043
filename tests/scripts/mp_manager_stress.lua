-- Many small Manager requests at once, from child processes and (GIL off:
-- truly parallel) threads of the parent sharing the same proxies: every
-- reply goes back to the right caller and nothing is lost. Regression test
-- for a reply box freed by its client while the server was still waking it
-- (that write corrupted the shared arena's free list).
-- run: --gil=off
-- run: --gil=on
local mp = require "multiprocessing"
local threading = require "threading"

local N = 400
local mg = mp.Manager()
local d = mg:dict()
local l = mg:list()

local function work(d, l, k, n)
  for i = 1, n do
    l:append(k)
    d["w" .. k] = i
    assert(d:get("w" .. k) == i)     -- our own last write, whoever else writes
  end
  d["done" .. k] = true
end

-- processes first: forking while threads allocate can hang a sanitizer's fork
local procs = {}
for k = 1, 2 do
  procs[k] = mp.Process{target = work, args = {d, l, k, N}}
  procs[k]:start()
end
local threads = {}
for k = 3, 5 do
  threads[k] = threading.Thread{target = work, args = {d, l, k, N}}
  threads[k]:start()
end
work(d, l, 6, N)
for k = 1, 2 do procs[k]:join(); assert(procs[k].exitcode == 0, procs[k].exitcode) end
for k = 3, 5 do threads[k]:join() end

local items = l:tolist()
assert(items.n == 6 * N, items.n)
local per = {}
for i = 1, items.n do per[items[i]] = (per[items[i]] or 0) + 1 end
for k = 1, 6 do
  assert(per[k] == N, ("worker %d: %s appends"):format(k, tostring(per[k])))
  assert(d["w" .. k] == N and d["done" .. k] == true, k)
end
assert(#d == 12, #d)
mg:shutdown()
print("ok")
