-- bench_multi_process.lua — scripts/multi_process.lua in every mode at a
-- tiny size (the script checks every task's result itself and exits 1 on
-- a wrong one): ops = tasks x workers.
-- timeout: 120

local T = dofile("tests/report/benchtest.lua")

for _, mode in ipairs(T.modes) do
  for _, w in ipairs({1, 2}) do
    local v = T.run(T.argv(mode, "interval:5", "scripts/multi_process.lua",
                           {"--mode=" .. mode, "--workers=" .. w, "--tasks=2", "--size=2000"}))
    T.check_common(v, "multi_process", mode, w)
    assert(v.ops == 2 * w and v.tasks == 2 * w and v.primes == 303, "303 primes below 2000")
  end
end
print("multi_process ok")
