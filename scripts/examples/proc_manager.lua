-- Seed 004 "共享数据(Manager)": a dict and a list owned by a Manager
-- process; a child changes them and the parent sees the changes.
local mp = require "multiprocessing"

local function func(mydict, mylist)
  mydict["index1"] = "aaaaaa"     -- the child writes into the shared dict
  mydict["index2"] = "bbbbbb"
  mylist:append(11)               -- and into the shared list
  mylist:append(22)
  mylist:append(33)
end

do
  local MG <close> = mp.Manager()          -- like Python's `with ... as MG`
  local mydict = MG:dict()                 -- shared by the parent and the child
  local list = {}
  for i = 0, 4 do list[#list + 1] = i end  -- range(5)
  local mylist = MG:list(list)

  local p = mp.Process{target = func, args = {mydict, mylist}}
  p:start()
  p:join()

  print(mylist)
  print(mydict)
end
