-- jobs_mgr_net.lua — the harness's jobs for multiprocessing.managers over
-- TCP (issue #13): scripts/bench_mgr_net.lua (proxy call round trip, queue
-- items/s on loopback) and its CPython peer bench/peers/mgr_net.py, shown
-- in the report's table of other measurements.
--   dofile(here .. "/jobs_mgr_net.lua")(add, {root =, quick =, py_impl =})
return function(add, ctx)
  local sc = ctx.quick and "0.25" or "1"
  add({kind = "extra", script = "bench_mgr_net.lua", flags = {}, args = {"all", sc, "--json"}, name = "mgr_net"})
  if ctx.py_impl then
    add({kind = "extra", script = "mgr_net.py", flags = {}, args = {"all", sc, "--json"}, name = "mgr_net", peer = true})
  end
end
