-- greenlet_switch.lua — greenlets that switch to each other explicitly
-- (seed notes 004, "greenlet"), with Lua coroutines. Lua coroutines are
-- asymmetric (resume/yield); a greenlet's symmetric switch() is a yield to
-- a tiny trampoline that resumes the greenlet asked for. As in greenlet,
-- when a greenlet's function returns, control goes back to its parent
-- (here the main program).
--
--   gillua scripts/examples/greenlet_switch.lua      -> 12 56 34 78
local Greenlet = {}
Greenlet.__index = Greenlet

local current = nil            -- the running greenlet; nil: the main program

local function greenlet(f)
  return setmetatable({co = coroutine.create(f)}, Greenlet)
end

function Greenlet:switch()
  if current ~= nil then       -- inside a greenlet: ask the trampoline
    coroutine.yield(self)
    return
  end
  local target = self          -- the main program runs the trampoline
  while target do
    current = target
    local ok, nxt = coroutine.resume(target.co)
    current = nil
    if not ok then error(nxt, 0) end
    if coroutine.status(target.co) == "dead" then break end  -- back to parent
    target = nxt
  end
end

local gr1, gr2

local function test1()
  print(12)
  gr2:switch()
  print(34)
  gr2:switch()
end

local function test2()
  print(56)
  gr1:switch()
  print(78)
end

gr1 = greenlet(test1)
gr2 = greenlet(test2)
gr1:switch()
