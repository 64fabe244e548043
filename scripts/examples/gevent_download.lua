-- gevent_download.lua — many downloads in one thread with coroutines
-- (seed notes 002 and 004, "协程 gevent"). gevent spawns a greenlet per URL
-- and, monkey-patched, switches to another greenlet whenever one would
-- block on the network; joinall waits for all of them.
--
-- There is no network here, so the "URLs" are local files and a tiny hub
-- plays gevent's part: a task reads its file in 512-byte chunks and yields
-- to the hub after each chunk, as a patched socket read would yield while
-- waiting for the next packet. All tasks start ("Visit --> ..."), then the
-- smaller downloads finish first, as in the seed's output.
--
--   gillua scripts/examples/gevent_download.lua [file ...]
--   (default: three files of this directory)
local CHUNK = 512

-- ---- a tiny gevent: spawn, joinall, Pool:map ----
local gevent = {}
local ready = {}                  -- run queue of coroutines

function gevent.spawn(f, ...)
  local args = table.pack(...)
  local g = {done = false}
  g.co = coroutine.create(function()
    g.value = f(table.unpack(args, 1, args.n))
    g.done = true
  end)
  ready[#ready + 1] = g
  return g
end

-- what a monkey-patched blocking call does: let the others run
function gevent.sleep0()
  coroutine.yield()
end

-- the hub: run every runnable greenlet in turn until those given are done
function gevent.joinall(greenlets)
  local function all_done()
    for _, g in ipairs(greenlets) do if not g.done then return false end end
    return true
  end
  while not all_done() do
    local g = table.remove(ready, 1)
    local ok, err = coroutine.resume(g.co)
    if not ok then error(err, 0) end
    if coroutine.status(g.co) ~= "dead" then ready[#ready + 1] = g end
  end
end

local Pool = {}
Pool.__index = Pool
function gevent.Pool() return setmetatable({}, Pool) end
function Pool:map(f, list)
  local gs = {}
  for i, v in ipairs(list) do gs[i] = gevent.spawn(f, v) end
  gevent.joinall(gs)
  local results = {}
  for i, g in ipairs(gs) do results[i] = g.value end
  return results, #gs
end

-- ---- "urllib": a file read chunk by chunk, yielding between chunks ----
local function urlopen(url)
  local f, err = io.open(url, "rb")
  if not f then error(err, 0) end
  return {
    read = function()
      local parts = {}
      while true do
        local s = f:read(CHUNK)
        if not s then break end
        parts[#parts + 1] = s
        gevent.sleep0()           -- "waiting for the network"
      end
      f:close()
      return table.concat(parts)
    end,
  }
end

-- ---- the seed's program ----
local function run_task(url)
  print(string.format("Visit --> %s", url))
  local ok, err = pcall(function()
    local response = urlopen(url)
    local data = response.read()
    print(string.format("%d bytes received from %s.", #data, url))
  end)
  if not ok then print(err) end
end

local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local urls = {}
for i = 1, #(arg or {}) do urls[#urls + 1] = arg[i] end
if #urls == 0 then
  urls = {here .. "/gevent_download.lua", here .. "/thread_urls.lua", here .. "/greenlet_switch.lua"}
end

local greenlets = {}
for i, url in ipairs(urls) do greenlets[i] = gevent.spawn(run_task, url) end
gevent.joinall(greenlets)

-- the second program: a pool mapping run_task over the urls
local function run_task2(url)
  run_task(url)
  print(string.format("url:%s --->finish", url))
end
local pool = gevent.Pool()
local results, n = pool:map(run_task2, urls)
local shown = {}
for i = 1, n do shown[i] = tostring(results[i]) end
print("{" .. table.concat(shown, ", ") .. "}")
