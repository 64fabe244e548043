-- scripts/examples/queue_writer_reader.lua: A..E put and got in order,
-- each got after it was put; the daemon reader does not keep the program
-- alive; both GIL modes.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

for _, flags in ipairs{"--gil=on", "--gil=off"} do
  local L = lines(expect_ok(flags, "queue_writer_reader.lua", "0.01"))
  assert(L[1] == "write thread = \twriter" and L[2] == "read  thread = \treader", L[1])
  local put, got = {}, {}
  for i = 3, #L do
    local v = L[i]:match("^Put (%u) to queue$")
    if v then put[#put + 1] = v; put[v] = i
    else
      v = assert(L[i]:match("^get (%u) from queue$"), "unexpected: " .. L[i])
      got[#got + 1] = v
      assert(put[v] and put[v] < i, v .. " got before it was put")
    end
  end
  assert(table.concat(put) == "ABCDE" and table.concat(got) == "ABCDE", flags)
end
print("ok")
