--[[
tests/lib/interrupt.lua — the Ctrl-C harness of the *_interrupt tests:
runs each case as a child gillua (the binary under test, $GILLUA), waits
until the child prints READY on its stdout (it is then blocked where the
case wants it), waits a little more, sends it SIGINT, and records its exit
status, how long it took to exit after the signal, and its output.

    local I = dofile("tests/lib/interrupt.lua")
    local results = I.run{
      cases = {sleep = "ready(); require'time'.sleep(60)", ...},
      prelude = "...",        -- Lua put before every case (optional)
      parallel = true,        -- all children at once (blocked ones use no CPU)
    }
    for _, r in ipairs(results) do ... r.id, r.flags, r.name, r.rc, r.ms, r.out, r.err ... end

Every case gets 'ready()' (prints READY and flushes) and ends with
print('not interrupted'), so I.interrupted(r) can tell a case that was
cut short (exit 130, "interrupted" on stderr or stdout) from one that ran
to its end. Each case runs with --gil=on and --gil=off (opts.flags).
]]
local I = {}

I.gillua = assert(os.getenv("GILLUA"), "GILLUA not set: run me through tests/run_scripts.sh")

local READY = "local function ready() io.stdout:write('READY\\n'); io.stdout:flush() end\n"

local function slurp(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- The shell lines that run one child: start it, wait (10 s at most) for
-- READY, wait 'delay' s, send SIGINT, wait for it; then "<rc> <ms>" into
-- base.rc (ms: from the signal to the exit).
local function shell_for(flags, base, delay)
  return string.format(
    "%s %s %s.lua > %s.out 2> %s.err & pid=$!; i=0; " ..
    "while ! grep -q READY %s.out 2>/dev/null; do sleep 0.05; i=$((i+1)); [ $i -gt 200 ] && break; done; " ..
    "sleep %s; t0=$(date +%%s%%N); kill -INT $pid; wait $pid; rc=$?; " ..
    "echo $rc $(( ($(date +%%s%%N) - t0) / 1000000 )) > %s.rc",
    I.gillua, flags, base, base, base, base, delay, base)
end

function I.run(opts)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir))
  local names = {}
  for name in pairs(opts.cases) do names[#names + 1] = name end
  table.sort(names)
  local results, lines = {}, {}
  for _, flags in ipairs(opts.flags or {"--gil=on", "--gil=off"}) do
    for _, name in ipairs(names) do
      local id = name .. (flags == "--gil=on" and "_on" or flags == "--gil=off" and "_off" or "")
      local base = dir .. "/" .. id
      local f = assert(io.open(base .. ".lua", "w"))
      f:write(READY, opts.prelude or "", "\n", opts.cases[name], "\nprint('not interrupted')\n")
      f:close()
      results[#results + 1] = {id = id, flags = flags, name = name, base = base}
      lines[#lines + 1] = shell_for(flags, base, opts.delay or "0.2")
    end
  end
  if opts.parallel then
    local parts = {}
    for i, l in ipairs(lines) do parts[i] = "( " .. l .. " ) &" end
    assert(os.execute(table.concat(parts, "\n") .. "\nwait"))
  else
    for _, l in ipairs(lines) do assert(os.execute(l)) end
  end
  for _, r in ipairs(results) do
    local rc, ms = slurp(r.base .. ".rc"):match("(%d+) (%-?%d+)")
    r.rc, r.ms = tonumber(rc), tonumber(ms)
    r.out, r.err = slurp(r.base .. ".out"), slurp(r.base .. ".err")
    r.base = nil
  end
  os.execute("rm -rf " .. dir)
  return results
end

-- True when the child was cut short by Ctrl-C: exit 130 with
-- "interrupted", and it did not reach the end of its case.
function I.interrupted(r)
  local said = (r.err .. r.out):find("interrupted", 1, true)
  return r.rc == 130 and said ~= nil and not r.out:find("not interrupted", 1, true)
end

-- "<flags> <name>: exit <rc> after <ms> ms, stdout: ..., stderr: ..."
function I.describe(r)
  return string.format("%s %s: exit %s after %s ms, stdout: %s, stderr: %s", r.flags, r.name,
                       tostring(r.rc), tostring(r.ms), r.out, r.err)
end

-- The median and largest exit latency, for the record (not asserted:
-- timing belongs to bench/).
function I.latency(results)
  local ms = {}
  for _, r in ipairs(results) do ms[#ms + 1] = r.ms or -1 end
  table.sort(ms)
  return string.format("SIGINT-to-exit ms: median %d, max %d", ms[#ms // 2 + 1], ms[#ms])
end

return I
