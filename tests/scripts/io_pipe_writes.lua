-- Pipe writes give what Lua's give: tests/data/pipe_writes.lua, which
-- writes to pipes every kind of value, with every buffering mode (sizes
-- under, at and over a pipe's 4096 bytes), chains, bad values and closed
-- files, prints the same under gillua (runtime/lio_write.c writes pipes
-- itself) as under lua5.4.
local same_as_lua = dofile("tests/lib/same_as_lua.lua")
same_as_lua("tests/data/pipe_writes.lua", 60)
print("ok")
