-- Shared by the script tests: expect_error(pattern, f, ...) calls f(...)
-- and asserts that it raises an error whose text matches the Lua pattern;
-- returns the error.
local function expect_error(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error matching " .. pattern)
  assert(tostring(err):find(pattern), "error '" .. tostring(err) .. "' does not match " .. pattern)
  return err
end

return { error = expect_error }
