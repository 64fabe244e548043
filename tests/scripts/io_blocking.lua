-- Lua's blocking io and os calls let go of the GIL while they wait
-- (runtime/lio.c, lio_read.c, lio_write.c): a thread blocked in a pipe
-- read, a lines loop, a write to a full pipe, a FIFO open, a popen close
-- or os.execute does not stop the main thread.
-- Each case starts a child that waits (at most 5 s) for a flag file; only
-- the main thread creates the flag, after the reader says it is about to
-- block. Had the reader kept the GIL, main could not run, the child would
-- give up and print "gate timed out": the assertions name that outcome.
-- run: --gil=on
-- run: --gil=on --switch=interval:1
-- run: --gil=on --switch=ticks:100
-- run: --gil=on --switch=priority:1
-- run: --gil=off
local threading = require "threading"
local queue = require "queue"

-- 'before' (if any) runs ahead of the gate: output the reader already has.
local function gated(flag, body, before)
  return (before and before .. "; " or "") .. string.format(
    "i=0; while [ ! -e %s ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; " ..
    "if [ -e %s ]; then %s; else echo 'gate timed out'; exit 7; fi", flag, flag, body)
end

-- Runs block(cmd, about_to_block) in a thread; returns what it put in the queue.
local function case(name, body, block, before)
  local flag = os.tmpname()
  os.remove(flag)
  local ready, results = threading.Event(), queue.Queue()
  local t = threading.Thread{ target = function(cmd)
    results:put(table.pack(pcall(block, cmd, function() ready:set() end)))
  end, args = { gated(flag, body, before) } }
  t:start()
  assert(ready:wait(10), name .. ": the reader never got to its blocking call")
  local f = assert(io.open(flag, "w"))   -- needs the GIL: the reader must have let go
  f:close()
  assert(t:join(15), name .. ": the reader did not finish")
  os.remove(flag)
  local r = results:get(false)
  assert(r[1], name .. ": " .. tostring(r[2]))
  return table.unpack(r, 2, r.n)
end

-- file:read("a") on a pipe
local out = case("popen read", "echo hello; echo world", function(cmd, about)
  local p = assert(io.popen(cmd))
  about()
  local s = p:read("a")
  p:close()
  return s
end)
assert(out == "hello\nworld\n", "popen read returned " .. string.format("%q", out))

-- a lines loop over a pipe, with formats
local lines = case("popen lines", "echo 1 one; echo 2 two", function(cmd, about)
  local p = assert(io.popen(cmd))
  about()
  local got = {}
  for n, rest in p:lines("n", "l") do got[#got + 1] = n .. "=" .. rest end
  p:close()
  return table.concat(got, ",")
end)
assert(lines == "1= one,2= two", "popen lines returned " .. lines)

-- io.lines on the default input, redirected to a pipe
local first = case("io.lines on io.input", "echo first", function(cmd, about)
  io.input(assert(io.popen(cmd)))
  about()
  local got
  for l in io.lines() do got = got or l end
  io.input():close()
  return got
end)
assert(first == "first", "io.lines returned " .. tostring(first))

-- io.read on the default input
local word = case("io.read", "echo 42", function(cmd, about)
  io.input(assert(io.popen(cmd)))
  about()
  local n = io.read("n")
  io.input():close()
  return n
end)
assert(word == 42, "io.read returned " .. tostring(word))

-- close of a popen'ed file waits for the child
local ok, how, code = case("popen close", "exit 0", function(cmd, about)
  local p = assert(io.popen(cmd))
  about()
  return p:close()
end)
assert(ok == true and how == "exit" and code == 0,
  "popen close returned " .. tostring(ok) .. " " .. tostring(how) .. " " .. tostring(code))

-- the same close, run by the garbage collector: the child leaves a mark
-- only if it saw the flag
local mark = os.tmpname()
os.remove(mark)
case("popen close by __gc", "echo seen > " .. mark, function(cmd, about)
  local p = assert(io.popen(cmd))
  about()
  p = nil
  collectgarbage()
  collectgarbage()
end)
local m = io.open(mark)
assert(m and m:read("l") == "seen", "popen close by __gc: the child did not see the flag")
m:close()
os.remove(mark)

-- os.execute
ok, how, code = case("os.execute", "exit 5", function(cmd, about)
  about()
  return os.execute(cmd)
end)
assert(ok == nil and how == "exit" and code == 5,
  "os.execute returned " .. tostring(ok) .. " " .. tostring(how) .. " " .. tostring(code))

-- Input that arrives in pieces: the first piece is in the reader's buffer
-- (read(0) waits for it and leaves it there) before the gate opens, so
-- the reader is already reading when it needs the rest. Each read must
-- wait for the rest without the GIL.
local function reads(name, before, body, block, want)
  local got = case(name, body, function(cmd, about)
    local p = assert(io.popen(cmd))
    assert(p:read(0) == "", "no first piece")
    about()
    local r = block(p)
    p:close()
    return r
  end, before)
  assert(got == want, string.format("%s returned %q, not %q", name, tostring(got), want))
end
reads("a line in two pieces", "printf par", "printf 'tial\\n'",
      function(p) return p:read("l") end, "partial")
reads("read('a') while the child still runs", "echo first", "echo second",
      function(p) return p:read("a") end, "first\nsecond\n")
reads("a count in two pieces", "printf abc", "printf def",
      function(p) return p:read(6) end, "abcdef")
reads("a number in two pieces", "printf 12", "printf '34 '",
      function(p) return tostring(p:read("n")) end, "1234")
reads("a lines loop across the gate", "echo one", "echo two", function(p)
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  return table.concat(t, ",")
end, "one,two")
reads("io.read on io.input, formats L and a", "printf 'x\\ny'", "echo z", function(p)
  io.input(p)
  local a, b = io.read("L", "a")
  io.input(io.stdin)
  return a .. b
end, "x\nyz\n")

-- a write to a pipe that the child does not read yet: 1 MiB does not fit
-- in the pipe, so the writer must wait for room without the GIL
local closed = table.pack(case("write to a full pipe", "cat > /dev/null", function(cmd, about)
  local p = assert(io.popen(cmd, "w"))
  about()
  assert(p:write(string.rep("x", 1 << 20)) == p)
  return p:close()
end))
assert(closed[1] == true and closed[3] == 0, "the full-pipe writer's close returned " ..
  tostring(closed[1]) .. " " .. tostring(closed[2]) .. " " .. tostring(closed[3]))

-- print into a full pipe: a child gillua prints 1 MiB into a reader that
-- starts only once the child's second thread has made the flag file. Had
-- print kept the GIL while stdout was full, that thread could not run.
do
  local flag = os.tmpname()
  os.remove(flag)
  local child = string.format([[
local th = require "threading"
local t = th.Thread{ target = function() io.open(%q, "w"):close() end }
t:start()
local line = string.rep("p", 1023)
for _ = 1, 1024 do print(line) end
t:join()]], flag)
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(child)
  f:close()
  local p = assert(io.popen(string.format("%q --gil=on %q | (%s)", os.getenv("GILLUA"), script,
    gated(flag, "wc -c"))))
  local out = p:read("a")
  p:close()
  os.remove(script)
  os.remove(flag)
  assert(out:match("^%s*(%d+)") == tostring(1024 * 1024), "print into a full pipe: " .. out)
end

-- a FIFO between two threads: each open waits for the other end, so the
-- first must let go of the GIL or the second could never open
do
  local fifo = os.tmpname()
  os.remove(fifo)
  assert(os.execute("mkfifo " .. fifo))
  local writer = threading.Thread{ target = function(path)
    local f = assert(io.open(path, "w"))
    f:write("through the fifo\n")
    f:close()
  end, args = { fifo } }
  writer:start()
  local f = assert(io.open(fifo, "r"))
  local got = f:read("a")
  f:close()
  assert(writer:join(10), "the FIFO writer did not finish")
  assert(got == "through the fifo\n", "FIFO: " .. got)
  -- the same through io.lines(path), which opens the FIFO itself and
  -- closes it at the end (its fourth result is the file)
  writer = threading.Thread{ target = function(path)
    local w = assert(io.open(path, "w"))
    w:write("one\ntwo\n")
    w:close()
  end, args = { fifo } }
  writer:start()
  local lines = {}
  local iter, _, _, file = io.lines(fifo, "L")
  for l in iter do lines[#lines + 1] = l end
  assert(writer:join(10), "the io.lines FIFO writer did not finish")
  os.remove(fifo)
  assert(table.concat(lines) == "one\ntwo\n", "io.lines on a FIFO: " .. table.concat(lines))
  assert(io.type(file) == "closed file", "io.lines did not close the FIFO at the end")
end

-- another thread closes the pipe while the reader waits for more: the
-- reader gets an error (or, if the child was quicker, all of the data),
-- never a crash. Threads share the file only with the GIL on. The main
-- thread may close the file before the reader called read at all (under
-- priority:MS main, back from wait, is served first): Lua's own error.
if require("gil").enabled() then
  local p = assert(io.popen("echo first; sleep 1; echo second"))
  assert(p:read(0) == "")
  local waiting, out = threading.Event(), queue.Queue()
  local reader = threading.Thread{ target = function()
    waiting:set()
    out:put(table.pack(pcall(p.read, p, "a")))
  end }
  reader:start()
  assert(waiting:wait(10))
  p:close()
  assert(reader:join(10), "the reader did not finish")
  local r = out:get(false)
  assert((r[1] and r[2] == "first\nsecond\n") or
         (not r[1] and tostring(r[2]):find("closed by another thread", 1, true)) or
         (not r[1] and tostring(r[2]):find("attempt to use a closed file", 1, true)),
         "reader of a pipe closed under it: " .. tostring(r[2]))
end

-- a reader on a closed file still gets Lua's own error
local f = assert(io.popen("true"))
f:close()
local okr, err = pcall(f.read, f)
assert(not okr and err:find("attempt to use a closed file", 1, true), tostring(err))
print("ok")
