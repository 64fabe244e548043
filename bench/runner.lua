-- runner.lua — running one benchmark process and reading its JSON line;
-- shell quoting, timeouts, progress output, and the machine description.
-- Used by bench/harness.lua.

local json = dofile((debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/json.lua")

local R = {}

function R.quote(s)
  s = tostring(s)
  if s:match("^[%w%-_./:=,+]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
R.read_file = read_file

-- Output of a shell command (stdout, trimmed), or nil when it fails.
function R.capture(cmd)
  local p = io.popen(cmd .. " 2>/dev/null", "r")
  if not p then return nil end
  local out = p:read("a")
  local ok = p:close()
  if not ok then return nil end
  out = out:gsub("%s+$", "")
  return out
end

-- Runs argv (a list) with env (a table of NAME=value) under a timeout.
-- Returns the decoded last JSON line of stdout, or nil and an error text
-- naming the exit status and the first line of stderr.
function R.run(argv, env, timeout_s)
  local parts = {"env"}
  for k, v in pairs(env or {}) do parts[#parts + 1] = R.quote(k .. "=" .. v) end
  parts[#parts + 1] = "timeout"
  parts[#parts + 1] = tostring(timeout_s or 300)
  for _, a in ipairs(argv) do parts[#parts + 1] = R.quote(a) end
  local errfile = os.tmpname()
  local cmd = table.concat(parts, " ") .. " 2>" .. R.quote(errfile)
  local p = io.popen(cmd, "r")
  local out = p:read("a")
  local _, how, code = p:close()
  local err = read_file(errfile) or ""
  os.remove(errfile)
  local line
  for l in out:gmatch("[^\n]+") do
    if l:match("^%s*{") then line = l end
  end
  if how == "exit" and code == 124 then
    return nil, string.format("timed out after %ss: %s", timeout_s or 300, table.concat(argv, " ")), err
  end
  if not line or (how ~= "exit" or code ~= 0) then
    local first = err:match("[^\n]+") or "(no output)"
    return nil, string.format("%s %s: %s", how == "signal" and "killed by signal" or "exit",
                              tostring(code), first), err
  end
  local ok, v = pcall(json.decode, line)
  if not ok then return nil, "bad JSON line: " .. tostring(v), err end
  return v, nil, err
end

------------------------------------------------------------------ progress

local tty
function R.progress(done, total, what)
  if tty == nil then tty = os.execute("test -t 2") == true end
  local msg = string.format("[%3d/%d] %s", done, total, what)
  if tty then
    io.stderr:write("\r\27[K", msg)
  else
    io.stderr:write(msg, "\n")
  end
  io.stderr:flush()
end

function R.progress_done()
  if tty then io.stderr:write("\r\27[K") end
end

------------------------------------------------------------------ machine

function R.machine(gillua)
  local cpuinfo = read_file("/proc/cpuinfo") or ""
  local model = cpuinfo:match("model name%s*:%s*([^\n]+)") or "unknown"
  local osr = read_file("/etc/os-release") or ""
  local pretty = osr:match('PRETTY_NAME="([^"]+)"') or "Linux"
  local kernel = R.capture("uname -sr") or ""
  local cpus = (os.cpu_count and os.cpu_count()) or tonumber(R.capture("nproc") or "") or 1
  local version = R.capture(R.quote(gillua) .. " -v") or ""
  local commit = R.capture("git rev-parse --short HEAD")
  if commit and R.capture("git status --porcelain --untracked-files=no") ~= "" then
    commit = commit .. "+dirty"
  end
  return {
    cpus = cpus,
    cpu_model = model,
    os = pretty .. (kernel ~= "" and (", " .. kernel) or ""),
    lua = version:match("(Lua %d+%.%d+%.?%d*)") or _VERSION,
    gillua = version:match("gillua%s+(%S+)") or version:match("[^\n]*"),
    commit = commit or "none (no git commit yet)",
    date = os.date("!%Y-%m-%dT%H:%M:%SZ"),
  }
end

-- The order of runs. The repetitions of the modes of one group (the same
-- impl, bench, workers, lock, sweep) are interleaved: rep 1 of every mode,
-- then rep 2, ... So a burst of background load hits the modes alike, and
-- rep i of a mode and rep i of the sequential run form a pair whose ratio
-- compares like with like (aggregate.lua). Returns the units in order and
-- the groups ({jobs=, units=}); other jobs are one unit each.
function R.interleave(jobs)
  local units, groups = {}, {}
  local function group_key(j)
    if j.baseline then return "baseline" end   -- lua5.4 and gillua side by side
    return table.concat({j.impl, j.bench, tostring(j.workers), tostring(j.lock), tostring(j.sweep),
                         tostring(j.nsweep), tostring(j.pinned)}, "|")
  end
  local i = 1
  while i <= #jobs do
    local j = jobs[i]
    if j.kind == "bench" then
      local group, k = {jobs = {j}, units = {}}, i + 1
      while k <= #jobs and jobs[k].kind == "bench" and group_key(jobs[k]) == group_key(j) do
        group.jobs[#group.jobs + 1] = jobs[k]
        k = k + 1
      end
      local maxr = 0
      for _, g in ipairs(group.jobs) do
        g.data, g.retries = {}, 0
        maxr = math.max(maxr, g.reps)
      end
      for rep = 1, maxr do
        for _, g in ipairs(group.jobs) do
          if rep <= g.reps then
            local u = {job = g, rep = rep}
            units[#units + 1] = u
            group.units[#group.units + 1] = u
          end
        end
      end
      groups[#groups + 1] = group
      i = k
    else
      units[#units + 1] = {job = j}
      i = i + 1
    end
  end
  return units, groups
end

return R
