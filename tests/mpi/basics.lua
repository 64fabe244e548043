-- Run by tests/scripts/mpi.lua under `mpirun -np 3`: a ring, requests,
-- ANY_SOURCE/ANY_TAG, every collective, a 100k-entry table, and a thread
-- blocked in recv while the main thread talks MPI (the wait releases the
-- GIL). Each rank prints "rank R ok".
local mpi = require "mpi"
local threading = require "threading"
local comm = mpi.COMM_WORLD
local rank, size = comm:Get_rank(), comm:Get_size()
assert(size == 3, "run me with -np 3")
assert(tostring(comm) == "mpi.COMM_WORLD")
assert(mpi.Query_thread() == mpi.THREAD_MULTIPLE, "thread level " .. mpi.Query_thread())

-- a ring: a table goes round, each rank adds itself
local right, left = (rank + 1) % size, (rank - 1) % size
if rank == 0 then
  comm:send({path = {0}}, right, 1)
  local m, src, tag = comm:recv(left, 1)
  assert(src == left and tag == 1 and table.concat(m.path, ",") == "0,1,2")
else
  local m = comm:recv(left, 1)
  m.path[#m.path + 1] = rank
  comm:send(m, right, 1)
end

-- requests, any source, any tag
local r = comm:irecv(mpi.ANY_SOURCE, 5)
local s = comm:isend({from = rank}, right, 5)
local got = r:wait()
assert(got.from == left, got.from)
assert(s:wait() == true)
if rank == 0 then
  local seen = {}
  for _ = 1, 2 do
    local v, src, tag = comm:recv(mpi.ANY_SOURCE, mpi.ANY_TAG)
    assert(v == src * 100 and tag == src + 10)
    seen[src] = true
  end
  assert(seen[1] and seen[2])
  local t = comm:irecv(1, 9)
  local done, v = t:test()
  while not done do done, v = t:test() end
  assert(v == "tested")
else
  comm:send(rank * 100, 0, rank + 10)
  if rank == 1 then comm:send("tested", 0, 9) end
end

-- every collective
comm:barrier()
local b = comm:bcast(rank == 2 and {k = "v", n = {1, 2}} or nil, 2)
assert(b.k == "v" and b.n[2] == 2)
local g = comm:gather({r = rank}, 1)
if rank == 1 then assert(#g == 3 and g[1].r == 0 and g[3].r == 2) else assert(g == nil) end
local ag = comm:allgather(rank * rank)
assert(#ag == 3 and ag[1] == 0 and ag[2] == 1 and ag[3] == 4)
local sc = comm:scatter(rank == 0 and {"zero", {1}, 2.5} or nil, 0)
assert(({"zero", "table", 2.5})[rank + 1] == (type(sc) == "table" and "table" or sc))
local sum = comm:reduce(rank + 1, mpi.SUM, 0)
assert(rank ~= 0 or (sum == 6 and math.type(sum) == "integer"))
assert(comm:allreduce(rank + 1, mpi.PROD) == 6)
local mx = comm:allreduce({a = rank, b = {-rank, 0.5}}, mpi.MAX)
assert(mx.a == 2 and mx.b[1] == 0 and mx.b[2] == 0.5)
assert(comm:allreduce(rank, mpi.MIN) == 0)
local ok, err = pcall(comm.allreduce, comm, "text", mpi.SUM)   -- every rank fails the same way
assert(not ok and err:find("numbers or tables of numbers expected"), err)

-- a 100k-entry table, point to point and broadcast
local N = 100000
if rank == 0 then
  local big = {}
  for i = 1, N do big[i] = i end
  big.name = "big"
  comm:send(big, 1, 3)
  comm:bcast(big, 0)
else
  if rank == 1 then
    local t = comm:recv(0, 3)
    assert(#t == N and t[N] == N and t.name == "big")
  end
  local t = comm:bcast(nil, 0)
  local s = 0
  for i = 1, #t do s = s + t[i] end
  assert(#t == N and s == N * (N + 1) // 2)
end

-- a thread waits in recv; meanwhile this thread sends and receives (rank
-- 1 answers only after our "ping": a recv holding the GIL would deadlock)
if rank == 0 then
  local q, entered = require("queue").Queue(), threading.Event()
  local t = threading.Thread{target = function()
    local m = require("mpi")
    entered:set()
    q:put((m.COMM_WORLD:recv(1, 21)))
  end}
  t:start()
  assert(entered:wait(20))
  comm:send("ping", 1, 20)
  assert(comm:recv(1, 22) == "pong")
  assert(q:get(true, 20) == "late")
  assert(t:join(20))
elseif rank == 1 then
  assert(comm:recv(0, 20) == "ping")
  comm:send("pong", 0, 22)
  comm:send("late", 0, 21)
end
comm:barrier()
print("rank " .. rank .. " ok")
