-- io_bound.lua — the harness's part for the I/O-bound benchmark
-- (scripts/io_bound.lua, bench/peers/io_bound.py): its sizes, its points
-- (every worker count in every mode, CPython's threads and processes),
-- and the local delayed HTTP server that all of them use
-- (scripts/lib/delay_httpd.lua, one process for the whole run, started
-- before the first point and stopped after the last).
local R = dofile((debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/runner.lua")

local IO = {}

-- Sizes (the same for gillua and CPython): requests per worker, the
-- server's delay per request, the answer's size; the worker counts.
function IO.sizes(quick, scale)
  local s = quick and {requests = 2, delay = 0.05, bytes = 1000}
                   or {requests = 5, delay = 0.05, bytes = 1000}
  local workers = quick and {1, 4, 16} or {1, 2, 4, 8, 16}
  if scale then   -- tests: one request of 10 ms, 1 and 2 workers
    s.requests = math.max(1, math.floor(s.requests * scale + 0.5))
    s.delay = math.max(0.01, s.delay * scale)
    workers = {1, 2}
  end
  s.port = 0      -- set by IO.start_server
  return s, workers
end

-- Takes "io_bound" out of the harness's list of CPU-bound benchmarks;
-- returns that list and whether the I/O-bound one runs (by default, or
-- when --benches names it).
function IO.split(benches, by_default)
  local rest, wanted = {}, by_default
  for _, b in ipairs(benches) do
    if b == "io_bound" then wanted = true else rest[#rest + 1] = b end
  end
  return rest, wanted
end

-- Adds the points: gillua's sequential, gil (each policy), nogil,
-- processes, coroutines; CPython's sequential, threads, processes.
-- Jobs of one worker count follow each other, so the harness interleaves
-- their repetitions.
function IO.add_jobs(add, workers, policies, py_impl, reps)
  local modes = {{"sequential"}}
  for _, p in ipairs(policies) do modes[#modes + 1] = {"gil", p} end
  for _, m in ipairs({"nogil", "processes", "coroutines"}) do modes[#modes + 1] = {m} end
  for _, w in ipairs(workers) do
    for _, m in ipairs(modes) do
      add({kind = "bench", impl = "gillua", bench = "io_bound", mode = m[1], switch = m[2], workers = w, reps = reps})
    end
  end
  if py_impl then
    for _, w in ipairs(workers) do
      for _, m in ipairs({{"sequential"}, {"gil", "interval:5"}, {"processes"}}) do
        add({kind = "bench", impl = py_impl, bench = "io_bound", mode = m[1], switch = m[2], workers = w, reps = reps})
      end
    end
  end
end

-- Starts the server (gillua running delay_httpd.lua, serving until its
-- standard input, a pipe from here, closes); sets size.port. Returns a
-- stop function, or nil and a reason (the points then start their own).
function IO.start_server(gillua, root, size)
  local portfile = os.tmpname()
  local p = io.popen(string.format("%s %s/scripts/lib/delay_httpd.lua %s > %s",
                                   R.quote(gillua), R.quote(root), size.delay, R.quote(portfile)), "w")
  if not p then return nil, "cannot start the delay server" end
  for _ = 1, 500 do
    local f = io.open(portfile)
    local port = f and math.tointeger(tonumber(f:read("l")))
    if f then f:close() end
    if port then
      os.remove(portfile)
      size.port = port
      return function() p:close() end
    end
    os.execute("sleep 0.02")
  end
  p:close()
  os.remove(portfile)
  return nil, "the delay server printed no port in 10 s"
end

return IO
