--[[
tests/lib/cli.lua — helpers for the command-line tests (tests/scripts/cli_*.lua).

The binary under test is $GILLUA (exported by tests/run_scripts.sh). It is
run as plain `gillua` (a symlink in the temporary directory's bin/, first
on PATH), so argv[0], the prefix of its messages, is "gillua". Every
run gets a clean environment for the variables gillua reads (LUA_INIT*,
LUA_PATH*, LUA_CPATH*, GILLUA_*), its own stdin (a file, or /dev/null),
and its stdout and stderr captured in files of a private temporary
directory, which is also its working directory.

    local T = dofile("tests/lib/cli.lua")
    T.main(function()
      local r = T.run{ args = {"-e", "print(1)"} }
      T.expect(r, { code = 0, out = "1\n" })
    end)
]]
local M = {}

M.bin = assert(os.getenv("GILLUA"), "GILLUA is not set: run me through tests/run_scripts.sh")

local CLEAN_ENV = { "LUA_INIT", "LUA_INIT_5_4", "LUA_PATH", "LUA_PATH_5_4",
                    "LUA_CPATH", "LUA_CPATH_5_4", "GILLUA_GIL", "GILLUA_SWITCH" }

-- Quotes s for sh.
function M.q(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end
local q = M.q

local function sh_read(cmd)
  local p = assert(io.popen(cmd, "r"))
  local s = p:read("a")
  p:close()
  return s
end

local dir
function M.dir()
  if not dir then
    dir = sh_read("mktemp -d /tmp/gillua_cli.XXXXXX"):gsub("%s+$", "")
    assert(dir:match("^/tmp/gillua_cli%."), "mktemp failed")
  end
  return dir
end

-- Writes a file in the temporary directory; returns its name (relative
-- to the directory, where gillua runs) and its absolute path.
function M.write(name, text)
  local path = M.dir() .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return name, path
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- The directory holding the 'gillua' symlink, created on first use.
local bindir
local function gillua_bin()
  if not bindir then
    bindir = M.dir() .. "/bin"
    assert(os.execute("mkdir -p " .. q(bindir) .. " && ln -sf " .. q(M.bin) .. " " .. q(bindir .. "/gillua")))
  end
  return bindir
end

local function prefix(opts)
  local parts = { "cd " .. q(M.dir()) .. " && env" }
  for _, k in ipairs(CLEAN_ENV) do parts[#parts + 1] = "-u " .. k end
  parts[#parts + 1] = q("PATH=" .. gillua_bin() .. ":" .. os.getenv("PATH"))
  for k, v in pairs(opts.env or {}) do parts[#parts + 1] = q(k .. "=" .. v) end
  return table.concat(parts, " ")
end

local function argstring(args)
  local t = {}
  for i, a in ipairs(args or {}) do t[i] = q(a) end
  return table.concat(t, " ")
end

local nrun = 0

-- Runs gillua. opts: args (list), stdin (string, default none: /dev/null),
-- env (table of extra variables), as (run by this name or path instead
-- of "gillua"), wrap (function(cmd) -> shell command,
-- e.g. to run under `script`). Returns { out, err, code, cmd }.
function M.run(opts)
  nrun = nrun + 1
  local base = M.dir() .. "/run" .. nrun
  local input = "/dev/null"
  if opts.stdin then
    input = base .. ".in"
    local f = assert(io.open(input, "wb"))
    f:write(opts.stdin)
    f:close()
  end
  local cmd = q(opts.as or "gillua") .. " " .. argstring(opts.args)
  if opts.wrap then cmd = opts.wrap(cmd) end
  local full = string.format("%s %s <%s >%s 2>%s", prefix(opts), cmd, q(input),
                             q(base .. ".out"), q(base .. ".err"))
  local _, how, code = os.execute(full)
  if how == "signal" then code = 128 + code end
  return { out = M.read(base .. ".out") or "", err = M.read(base .. ".err") or "",
           code = code, cmd = full }
end

-- Runs a shell command (in the temporary directory, clean environment)
-- and returns its stdout.
function M.shell(script, env)
  nrun = nrun + 1
  return sh_read(prefix({ env = env }) .. " GILLUA=gillua sh -c " .. q(script))
end

local function show(r)
  return string.format("command: %s\nexit: %s\n--- stdout:\n%s--- stderr:\n%s---",
                       r.cmd, tostring(r.code), r.out, r.err)
end

local function plain_find(s, sub) return s:find(sub, 1, true) ~= nil end

-- Checks a run. want: code (number), out / err (exact strings),
-- out_has / err_has (plain substrings, or lists of them), out_not /
-- err_not (plain substrings that must not occur), out_match / err_match
-- (Lua patterns). Raises an error describing the run on mismatch.
function M.expect(r, want, what)
  local function fail(why)
    error((what and (what .. ": ") or "") .. why .. "\n" .. show(r), 2)
  end
  if want.code and r.code ~= want.code then
    fail("exit code " .. tostring(r.code) .. ", expected " .. want.code)
  end
  for _, stream in ipairs({ "out", "err" }) do
    local s = r[stream]
    if want[stream] and s ~= want[stream] then
      fail(string.format("std%s is %q, expected %q", stream, s, want[stream]))
    end
    local has = want[stream .. "_has"]
    if type(has) == "string" then has = { has } end
    for _, sub in ipairs(has or {}) do
      if not plain_find(s, sub) then fail(string.format("std%s lacks %q", stream, sub)) end
    end
    local hasnt = want[stream .. "_not"]
    if type(hasnt) == "string" then hasnt = { hasnt } end
    for _, sub in ipairs(hasnt or {}) do
      if plain_find(s, sub) then fail(string.format("std%s contains %q", stream, sub)) end
    end
    local pat = want[stream .. "_match"]
    if pat and not s:match(pat) then
      fail(string.format("std%s does not match %q", stream, pat))
    end
  end
  return r
end

-- Runs the test body, removes the temporary directory, re-raises errors.
function M.main(body)
  local ok, e = xpcall(body, debug.traceback)
  if dir then os.execute("rm -rf " .. q(dir)) end
  if not ok then error(e, 0) end
  print(string.format("%d runs checked", nrun))
end

return M
