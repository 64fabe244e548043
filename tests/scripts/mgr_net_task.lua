-- run:
-- run: --gil=off
-- timeout: 60
-- Seed 002's distributed processes (scripts/examples/task_master.lua and
-- task_worker.lua) as separate gillua processes on 127.0.0.1: the master
-- and two workers; all 10 results come back, each the square of a task;
-- a worker with the wrong key is refused at connect() while the master
-- keeps serving the others. The processes run in the test's GIL mode.
local sp = require "subprocess"
local bin = assert(os.getenv("GILLUA"))
local root = io.popen("pwd"):read("l")
local ex = root .. "/scripts/examples/"
local gil = require("gil").enabled() and "--gil=on" or "--gil=off"

local master = sp.Popen{args = {bin, gil, ex .. "task_master.lua", "0", "s3cret", "2"}, stdout = sp.PIPE}
local first = master.stdout:read("l")
local port = assert(tonumber(first and first:match("port (%d+)")), "no port in: " .. tostring(first))

local bad = sp.run{args = {bin, gil, ex .. "task_worker.lua", "127.0.0.1", tostring(port), "wrong"},
                   capture_output = true, timeout = 20}
assert(bad.returncode == 1, "a wrong-key worker exited " .. tostring(bad.returncode))
assert(bad.stderr:find("authentication failed", 1, true), bad.stderr)
assert(not bad.stdout:find("run task", 1, true), bad.stdout)

local workers = {}
for i = 1, 2 do
  workers[i] = sp.Popen{args = {bin, gil, ex .. "task_worker.lua", "127.0.0.1", tostring(port), "s3cret"},
                        stdout = sp.PIPE, stderr = sp.PIPE}
end
local out = master.stdout:read("a")
assert(master:wait(30) == 0, "master exited " .. tostring(master.returncode) .. "\n" .. out)

local tasks, results = {}, 0
for n in out:gmatch("Put task (%d+)%.%.%.") do tasks[#tasks + 1] = tonumber(n) end
assert(#tasks == 10, out)
local want = {}
for _, n in ipairs(tasks) do want[n] = (want[n] or 0) + 1 end
for a, b, c in out:gmatch("Result: (%d+) %* (%d+) = (%d+)") do
  a, b, c = tonumber(a), tonumber(b), tonumber(c)
  assert(a == b and c == a * a and want[a] and want[a] > 0, "bad result line in:\n" .. out)
  want[a] = want[a] - 1
  results = results + 1
end
assert(results == 10, out)
assert(out:find("master exit.", 1, true), out)

local done = 0
for i = 1, 2 do
  local wout, werr = workers[i]:communicate(nil, 20)
  assert(workers[i].returncode == 0, "worker " .. i .. " exited " .. tostring(workers[i].returncode) .. "\n" .. werr)
  for _ in wout:gmatch("run task") do done = done + 1 end
end
assert(done == 10, "the workers ran " .. done .. " tasks")
print("ok")
