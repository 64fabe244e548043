-- Shared by the script tests: expect_error(pattern, f, ...) calls f(...)
-- and asserts that it raises an error whose text matches the Lua pattern;
-- returns the error. joined(t [, seconds]) asserts that thread t ends
-- within the time (default 20 s) and did not fail.
local function expect_error(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error matching " .. pattern)
  assert(tostring(err):find(pattern), "error '" .. tostring(err) .. "' does not match " .. pattern)
  return err
end

local function joined(t, seconds)
  assert(t:join(seconds or 20), "thread did not finish")
  assert(t.error == nil, t.error)
end

return { error = expect_error, joined = joined }
