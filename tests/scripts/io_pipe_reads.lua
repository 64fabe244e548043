-- Pipe reads give what Lua's give: tests/data/pipe_reads.lua, which reads
-- pipes in every format (lines, counts, numbers, "a", mixed lists, EOF,
-- NULs, lines longer than stdio's buffer, closed files, iterators),
-- prints the same under gillua (runtime/lio_read.c reads pipes itself) as
-- under lua5.4.
local same_as_lua = dofile("tests/lib/same_as_lua.lua")
same_as_lua("tests/data/pipe_reads.lua", 200)
print("ok")
