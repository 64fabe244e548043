-- thread_local.lua — a global ThreadLocal object: every thread reads and
-- writes its own `student` field (seed notes 001 and 004, "ThreadLocal").
--
--   gillua scripts/examples/thread_local.lua
--
-- `local` is a Lua keyword, so the constructor is written
-- threading["local"]() (threading.Local() is the same function). Works
-- unchanged with --gil=off: the local object travels to each thread's
-- interpreter and is empty there until the thread sets its field.
local threading = require "threading"

-- the global ThreadLocal object
local local_school = threading["local"]()

local function process_student()
  -- the student bound to the current thread
  local std = local_school.student
  print(string.format("Hello, %s (in %s)", std, threading.current_thread().name))
end

local function process_thread(name)
  -- bind this thread's student
  local_school.student = name
  process_student()
end

local t1 = threading.Thread{target = process_thread, args = {"Alice"}, name = "Thread-A"}
local t2 = threading.Thread{target = process_thread, args = {"Bob"}, name = "Thread-B"}
t1:start()
t2:start()
t1:join()
t2:join()
