#!/usr/bin/env bash
# Runs every tests/scripts/*.lua with the given gillua binary.
#
# Header directives (in the first 30 lines of a test):
#   -- run: FLAGS            one run with FLAGS before the script (repeatable;
#                            no such line = one run without flags)
#   -- expect-exit: N        expected exit code (default 0)
#   -- expect-stderr: PAT    a Lua pattern stderr must match
#   -- timeout: S            seconds before the run is killed (default 60)
# The binary's absolute path is exported as GILLUA for tests that run it.
# Prints "ok"/"FAIL" per run, then "N passed, M failed".
set -u
bin=${1:?usage: run_scripts.sh path/to/gillua [test.lua...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
GILLUA=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
export GILLUA
[ -x "$GILLUA" ] || { echo "run_scripts.sh: no executable $GILLUA" >&2; exit 2; }
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/scripts/*.lua)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

directive() { head -n 30 "$1" | sed -n "s/^-- $2: *//p"; }

for t in "${tests[@]}"; do
  [ -f "$t" ] || continue
  name=$(basename "$t" .lua)
  want=$(directive "$t" expect-exit | head -n 1); want=${want:-0}
  pat=$(directive "$t" expect-stderr | head -n 1)
  limit=$(directive "$t" timeout | head -n 1); limit=${limit:-60}
  mapfile -t runs < <(directive "$t" run)
  [ ${#runs[@]} -gt 0 ] || runs=("")
  for flags in "${runs[@]}"; do
    # shellcheck disable=SC2086
    timeout -k 5 "$limit" "$GILLUA" $flags "$t" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    ok=1 why=""
    if [ "$rc" != "$want" ]; then ok=0; why="exit $rc, expected $want"; [ $rc = 124 ] && why="timed out after ${limit}s"; fi
    if [ $ok = 1 ] && [ -n "$pat" ]; then
      if ! lua5.4 - "$tmp/err" "$pat" <<<'local f=io.open(arg[1]) local s=f:read("a") f:close() os.exit(s:find(arg[2]) and 0 or 1)'; then
        ok=0; why="stderr does not match '$pat'"
      fi
    fi
    if [ $ok = 1 ]; then
      passed=$((passed + 1)); echo "ok   $name ${flags}"
    else
      failed=$((failed + 1)); echo "FAIL $name ${flags}: $why"
      sed 's/^/    | /' "$tmp/out" | tail -n 20
      sed 's/^/    ! /' "$tmp/err" | tail -n 30
    fi
  done
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
