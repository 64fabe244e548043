-- Ctrl-C: SIGINT makes the program stop with "gillua: interrupted" and exit
-- status 130, whether the main thread runs Lua code, sleeps, reads a pipe,
-- or waits for a stuck thread; in the REPL it interrupts the running line, and at the
-- prompt it ends the interpreter.
-- Deterministic: the program creates a file when it is about to loop or
-- block, and only then does the shell send the signal.
local T = dofile("tests/lib/cli.lua")

-- Runs `gillua ARGS` in the background, waits for the file "ready", sends
-- SIGINT, and returns the exit status and stderr. Standard input is
-- /dev/null, or with 'open_pipe' a FIFO that stays open and never has data.
local function interrupt(args, open_pipe)
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = T.q(a) end
  local out = T.shell(string.format([[
rm -f ready err fifo
stdin=/dev/null
if [ %s = yes ]; then mkfifo fifo; exec 3<>fifo; stdin=fifo; fi
"$GILLUA" %s >out 2>err <$stdin & pid=$!
while [ ! -e ready ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -INT $pid 2>/dev/null
wait $pid
echo "status=$?"
exec 3>&-
]], open_pipe and "yes" or "no", table.concat(quoted, " ")))
  local status = tonumber(out:match("status=(%d+)"))
  return { code = status, err = T.read(T.dir() .. "/err") or "", out = T.read(T.dir() .. "/out") or "",
           cmd = "gillua " .. table.concat(args, " ") }
end

local READY = "io.open('ready', 'w'):close() "

local SPIN = "while true do end"

T.main(function()
  T.dir()
  -- a busy loop in the main chunk
  local r = interrupt({ "-e", READY .. SPIN })
  T.expect(r, { code = 130, err_match = "^gillua: interrupted\n" }, "busy loop")

  -- a script, with a traceback naming where it was
  T.write("spin.lua", READY .. "\nlocal function spin() " .. SPIN .. " end\nspin()\n")
  r = interrupt({ "spin.lua" })
  T.expect(r, { code = 130, err_match = "^gillua: interrupted\nstack traceback:\n.*spin%.lua" }, "script")

  -- blocked in a sleep
  r = interrupt({ "-e", READY .. "require('time').sleep(60) print('woke')" })
  T.expect(r, { code = 130, out = "", err_match = "^gillua: interrupted" }, "sleep")

  -- a busy loop under the script's own line hook (debug.sethook)
  r = interrupt({ "-e", READY .. "debug.sethook(function() end, 'l') " .. SPIN })
  T.expect(r, { code = 130, err_match = "^gillua: interrupted\n" }, "busy loop with a debug hook")

  -- blocked in io.read on a pipe with no data
  r = interrupt({ "-e", READY .. "print(io.read())" }, true)
  T.expect(r, { code = 130, out = "", err_match = "^gillua: interrupted" }, "io.read on a pipe")

  -- main waits in join for a non-daemon thread that never ends: no hang at exit
  r = interrupt({ "-e", "local th = require 'threading' " ..
    "local t = th.Thread{ target = function() " .. SPIN .. " end } t:start() " ..
    READY .. "t:join() print('joined')" })
  T.expect(r, { code = 130, out = "", err_match = "^gillua: interrupted" }, "join on a stuck thread")

  -- REPL on a terminal: ^C stops the running line (the loop goes on), and
  -- ^C at the prompt ends gillua with 130
  if not os.execute("command -v script >/dev/null 2>&1") then
    print("SKIP terminal Ctrl-C: util-linux `script` is not installed")
    return
  end
  -- The ^C goes to the whole foreground group: the shell that script(1)
  -- starts gets it too. Without a trap dash dies of it once gillua has
  -- exited (its status line is never printed); the trap keeps it alive
  -- and is reset to the default in gillua, as every trap is across exec.
  -- SHELL is fixed so script runs the same shell everywhere.
  local out = T.shell([=[
rm -f ready done tty.log
{
  printf '%s\n' "io.open('ready', 'w'):close() $SPIN"
  while [ ! -e ready ]; do sleep 0.01; done
  printf '\003'
  printf '%s\n' "print('after')"
  # the second ^C goes only once the prompt after "after" is on the
  # terminal: sent while the line still ran, it would stop that line
  n=0
  until awk '/after\r?$/ { a = 1; next } a && /^> \r?$/ { f = 1 } END { exit !f }' tty.log 2>/dev/null ||
        [ $n -ge 1500 ]; do sleep 0.01; n=$((n + 1)); done
  printf '\003'
  # keep the terminal open until gillua is gone: it must end on ^C, not
  # on end of input
  n=0; while [ ! -e done ] && [ $n -lt 1500 ]; do sleep 0.01; n=$((n + 1)); done
} | SHELL=/bin/sh timeout 20 script -qec 'trap : INT; "$GILLUA"; echo "status=$?"; : >done' /dev/null >tty.log
cat tty.log
]=], { SPIN = SPIN })
  out = out:gsub("\r", "")
  if not out:find("interrupted\nstack traceback:", 1, true) then
    error("REPL: ^C did not interrupt the running line:\n" .. out)
  end
  if not out:find("after\n", 1, true) then error("REPL did not go on after ^C:\n" .. out) end
  if not out:find("status=130", 1, true) then error("REPL: ^C at the prompt did not exit 130:\n" .. out) end
end)
