-- subprocess: Popen with pipes, communicate with large outputs on both
-- pipes (no deadlock), input, timeouts (kill + raise), missing programs,
-- run/check_output/call/check_call, cwd/env, DEVNULL/STDOUT, wait/poll,
-- signals in returncode.
local sp = require "subprocess"

-- large outputs on stdout and stderr at once, and a large input
local script = "head -c 2000000 /dev/zero | tr '\\0' a; head -c 1500000 /dev/zero | tr '\\0' b >&2; wc -c"
local p = sp.Popen{args = {"sh", "-c", script}, stdin = sp.PIPE, stdout = sp.PIPE, stderr = sp.PIPE}
local input = string.rep("z", 1000000)
local out, err = p:communicate(input)
assert(#out == 2000000 + #"1000000\n", #out)
assert(out:sub(-8) == "1000000\n", out:sub(-10))
assert(#err == 1500000 and err:sub(1, 1) == "b")
assert(p.returncode == 0 and p.pid > 0)

-- not piped: nil
p = sp.Popen{args = {"true"}}
out, err = p:communicate()
assert(out == nil and err == nil and p.returncode == 0)

-- exit status and signals
p = sp.Popen{args = {"sh", "-c", "exit 3"}}
assert(p:wait() == 3 and p.returncode == 3)
p = sp.Popen{args = {"sleep", "5"}}
assert(p:poll() == nil)
local ok, e = pcall(p.wait, p, 0.05)
assert(not ok and e:find("TimeoutExpired"), e)
assert(p:poll() == nil, "wait(timeout) leaves the child running")
p:kill()
assert(p:wait() == -9)

-- communicate with a timeout kills the child and raises
p = sp.Popen{args = {"sh", "-c", "echo partial; sleep 5"}, stdout = sp.PIPE}
ok, e = pcall(p.communicate, p, nil, 0.2)
assert(not ok and e:find("TimeoutExpired") and e:find("0.2"), e)
assert(p.returncode == -9)

-- a missing program is a clear error
ok, e = pcall(sp.Popen, {args = {"no-such-program-xyz"}})
assert(not ok and e:find("No such file or directory: 'no%-such%-program%-xyz'"), e)
ok, e = pcall(sp.run, {args = {"/nonexistent/prog"}})
assert(not ok and e:find("No such file or directory"), e)
ok, e = pcall(sp.Popen, {args = {"true"}, cwd = "/nonexistent-dir"})
assert(not ok and e:find("nonexistent%-dir"), e)
ok, e = pcall(sp.Popen, {args = {}})
assert(not ok and e:find("empty"), e)
ok, e = pcall(sp.Popen, {args = {"echo", {}}})
assert(not ok and e:find("args%[2%]"), e)

-- run
local r = sp.run{args = {"cat"}, input = "hello", capture_output = true}
assert(r.returncode == 0 and r.stdout == "hello" and r.stderr == "")
r = sp.run{args = {"sh", "-c", "echo out; echo err >&2; exit 2"}, capture_output = true}
assert(r.returncode == 2 and r.stdout == "out\n" and r.stderr == "err\n")
ok, e = pcall(sp.run, {args = {"sh", "-c", "exit 1"}, check = true})
assert(not ok and e:find("CalledProcessError") and e:find("exit status 1"), e)
ok, e = pcall(sp.run, {args = {"sleep", "5"}, timeout = 0.1})
assert(not ok and e:find("TimeoutExpired"), e)

-- check_output, call, check_call
assert(sp.check_output{args = {"printf", "%s-%s", "a", "b"}} == "a-b")
assert(sp.call{args = {"false"}} == 1)
ok = pcall(sp.check_call, {args = {"false"}})
assert(not ok)
assert(sp.check_call{args = {"true"}} == 0)

-- cwd, env, shell, stderr = STDOUT, stdin = DEVNULL
assert(sp.check_output{args = {"pwd"}, cwd = "/tmp"} == "/tmp\n")
assert(sp.check_output{args = {"sh", "-c", "echo $FOO"}, env = {FOO = "bar"}} == "bar\n")
assert(sp.check_output{args = "echo $((6*7))", shell = true} == "42\n")
r = sp.run{args = {"sh", "-c", "echo 1; echo 2 >&2"}, stdout = sp.PIPE, stderr = sp.STDOUT}
assert(r.stdout == "1\n2\n" and r.stderr == nil, r.stdout)
assert(sp.check_output{args = {"cat"}, stdin = sp.DEVNULL} == "")

-- the pipes are Lua files
p = sp.Popen{args = {"sh", "-c", "read x; echo got $x"}, stdin = sp.PIPE, stdout = sp.PIPE}
p.stdin:write("line\n")
p.stdin:close()
assert(p.stdout:read("l") == "got line")
assert(p:wait() == 0)

-- a child the script reaped with os.waitpid(-1): wait and poll still
-- give its exit code (Python's subprocess would say 0)
p = sp.Popen{args = {"sh", "-c", "exit 7"}}
local rpid, how, code = os.waitpid(-1)
assert(rpid == p.pid and how == "exit" and code == 7, tostring(rpid) .. " " .. tostring(how))
assert(p:poll() == 7 and p:wait() == 7 and p.returncode == 7, tostring(p.returncode))
p = sp.Popen{args = {"sh", "-c", "kill -TERM $$"}}
assert(os.waitpid(p.pid) == p.pid)
assert(p:wait() == -15, tostring(p.returncode))

-- writing to a child that exited does not kill us (SIGPIPE)
p = sp.Popen{args = {"true"}, stdin = sp.PIPE}
p:wait()
out = p:communicate(string.rep("x", 1 << 20))
assert(p.returncode == 0)
print("ok")
