-- jobs_mgr_net.lua — the harness's jobs for multiprocessing.managers over
-- TCP (issue #13): scripts/bench_mgr_net.lua (proxy call round trip, queue
-- items/s on loopback) and its CPython peer bench/peers/mgr_net.py, run as
-- interleaved pairs (gillua, CPython, gillua, CPython...: bench/paired.lua)
-- and shown in the report's "managers over TCP" section (bench/mgr_report.lua).
--   dofile(here .. "/jobs_mgr_net.lua")(add, {root =, quick =, py_impl =})
return function(add, ctx)
  local sc = ctx.quick and "0.25" or "1"
  for pair = 1, ctx.quick and 5 or 7 do
    add({kind = "extra", script = "bench_mgr_net.lua", flags = {}, args = {"all", sc, "--json"}, name = "mgr_net",
         pair = pair})
    if ctx.py_impl then
      add({kind = "extra", script = "mgr_net.py", flags = {}, args = {"all", sc, "--json"}, name = "mgr_net",
           peer = true, pair = pair})
    end
  end
end
