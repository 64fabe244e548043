-- timeout: 120
-- require "mpi" under `mpirun --allow-run-as-root --oversubscribe -np 3`
-- (tests/mpi/): the ring, requests, every collective, a 100k-entry table
-- and a thread blocked in recv, with the GIL on and off; then a job where
-- one rank fails: it ends at once with that rank's error, no rank left.
-- Without Open MPI (no mpirun, or gillua built before it was installed:
-- `make deps-mpi && make`) this test says so and checks only that
-- require "mpi" explains how to install it.
local sp = require "subprocess"
local bin = assert(os.getenv("GILLUA"))
local mpi_so = bin:gsub("gillua$", "mpi.so")

local function exists(path) local f = io.open(path) if f then f:close() end return f ~= nil end
local have_mpirun = sp.run{args = "command -v mpirun", shell = true, capture_output = true}.returncode == 0
if not (have_mpirun and exists(mpi_so)) then
  local r = sp.run{args = {bin, "-e", "require 'mpi'"}, capture_output = true,
                   env = {PATH = os.getenv("PATH"), GILLUA_MPI_MODULE = ""}}
  assert(r.returncode == 1 and r.stderr:find("make deps%-mpi"), r.stderr)
  print("skipped: Open MPI or " .. mpi_so .. " is missing")
  return
end

-- One machine: Open MPI's shared-memory transport (its TCP transport takes
-- its locks in an order ThreadSanitizer reports, inside Open MPI). Sanitizer
-- builds: Open MPI's own allocations are not ours to report.
local env = {PATH = os.getenv("PATH"), HOME = os.getenv("HOME") or "/tmp",
             ASAN_OPTIONS = "detect_leaks=0", OMPI_MCA_btl = "self,vader"}

local function mpirun(script, flags)
  local args = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "3", bin}
  for _, f in ipairs(flags or {}) do args[#args + 1] = f end
  args[#args + 1] = script
  return sp.run{args = args, capture_output = true, timeout = 60, env = env}
end

for _, gil in ipairs({"--gil=on", "--gil=off"}) do
  local r = mpirun("tests/mpi/basics.lua", {gil})
  assert(r.returncode == 0, gil .. ": exit " .. r.returncode .. "\n" .. r.stdout .. r.stderr)
  for rank = 0, 2 do assert(r.stdout:find("rank " .. rank .. " ok", 1, true), gil .. ":\n" .. r.stdout .. r.stderr) end
end

-- the multi_process benchmark's mpi mode: 2 ranks, rank 0 reports
local args = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", bin,
              "scripts/multi_process.lua", "--mode=mpi", "--tasks=2", "--size=2000"}
local b = sp.run{args = args, capture_output = true, timeout = 60, env = env}
assert(b.returncode == 0, b.stdout .. b.stderr)
local line = assert(b.stdout:match("{[^\n]*}"), b.stdout)
assert(not b.stdout:match("}.*{"), "one line for the job:\n" .. b.stdout)
assert(line:find('"mode":"mpi"') and line:find('"workers":2') and line:find('"ops":4'), line)

local r = mpirun("tests/mpi/fail.lua")
assert(r.returncode ~= 0, "a failed rank must fail the job")
assert(r.stderr:find("rank one gives up", 1, true), r.stderr)
assert(r.stderr:find("mpi: rank 1 ended with an error; aborting the job", 1, true), r.stderr)
assert(not r.stdout:find("should never get here", 1, true), r.stdout)
local left = sp.run{args = {"pgrep", "-f", "tests/mpi/fail.lua"}, capture_output = true}
assert(left.stdout == "", "ranks left behind: " .. left.stdout)
print("ok")
