-- Run by tests/scripts/mpi.lua under `mpirun -np 3`: rank 1 fails while
-- ranks 0 and 2 wait for a message that never comes. The job must end
-- (MPI_Abort from rank 1's exit), with rank 1's error on stderr.
local mpi = require "mpi"
local comm = mpi.COMM_WORLD
local rank = comm:Get_rank()
comm:barrier()
if rank == 1 then error("rank one gives up") end
comm:recv(1, 99)
print("rank " .. rank .. " should never get here")
