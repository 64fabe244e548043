-- lab_io_bound.lua — I/O-bound threads are fine under a GIL. Each of
-- --threads threads reads --waits lines from its own child process, which
-- writes one line every --ms milliseconds (io.popen + read: a real blocking
-- read of a pipe, during which gillua lets go of the GIL), first one
-- thread after the other, then all at once. The waits overlap: the threaded run takes about
-- one thread's time, not the sum, whatever the switch policy.
--
--   gillua [--switch=P] scripts/lab_io_bound.lua --threads=4 --waits=5 --ms=50
--
-- Prints one JSON line: sequential_s, threaded_s, speedup (the ideal is
-- --threads), and the usual measurements of the threaded run.

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")
local o = B.options(arg, "lab_io_bound.lua", {threads = 4, waits = 5, ms = 50},
                    "--threads=N --waits=K --ms=MS")
if math.type(o.threads) ~= "integer" or o.threads < 1 or math.type(o.waits) ~= "integer" or o.waits < 1 then
  io.stderr:write("lab_io_bound.lua: --threads and --waits must be an integer >= 1\n")
  os.exit(2)
end
B.require_mode("lab_io_bound", {mode = "gil", workers = o.threads})

local cmd = string.format("i=0; while [ $i -lt %d ]; do sleep %.3f; echo line; i=$((i+1)); done",
                          o.waits, o.ms / 1000)
local function io_worker()
  local p = assert(io.popen(cmd, "r"))
  for _ = 1, o.waits do assert(p:read("l") == "line") end
  p:close()
end

local argsets = {}
for i = 1, o.threads do argsets[i] = {} end
local seq = B.measure(function() for _ = 1, o.threads do io_worker() end end)
local m = B.measure(function() B.run_threads(io_worker, argsets) end)
B.emit("lab_io_bound", {mode = "gil", workers = o.threads}, m, {
  sequential_s = seq.wall_s, threaded_s = m.wall_s, speedup = seq.wall_s / m.wall_s,
  ideal_s = o.waits * o.ms / 1000,
})
