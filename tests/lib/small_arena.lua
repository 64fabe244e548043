-- Shared by the script tests that fill the shared-memory arena: a 512 MiB
-- arena is slow to fill and costs that much memory, so small_arena(mb)
-- runs the calling script again in a child gillua with GILLUA_ARENA_MB=mb
-- (same interpreter flags) and exits with its status; in that child it
-- returns and the test goes on.
return function(mb)
  if os.getenv("GILLUA_ARENA_MB") == tostring(mb) then return end
  local flags = {}
  local i = -1
  while arg[i] do table.insert(flags, 1, arg[i]); i = i - 1 end
  table.remove(flags, 1)                       -- the interpreter itself
  local cmd = string.format("GILLUA_ARENA_MB=%d '%s' %s '%s'", mb, os.getenv("GILLUA") or arg[-1 - #flags],
                            table.concat(flags, " "), arg[0])
  local ok, how, code = os.execute(cmd)
  if how == "signal" then io.stderr:write("small_arena: child killed by signal ", code, "\n") os.exit(1) end
  os.exit(code)
end
