#!/usr/bin/env bash
# check_html.sh — renders a benchmark report in headless Chromium and checks
# that it renders, has its charts and logs no console error.
#
#   tests/report/check_html.sh [report.html] [min_charts]
#
# Defaults: bench/results/latest/report.html, at least 6 charts (the
# speedup and cores-used charts of the three benchmarks). Installs Debian's
# chromium with apt-get when it is missing (as root, or through sudo).
# Writes report.png (a full-page screenshot) beside the report.
# Run by `make bench` / `make bench-quick`, not by `make test`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
page=${1:-$root/bench/results/latest/report.html}
min=${2:-6}
[ -f "$page" ] || { echo "check_html: no such file: $page" >&2; exit 2; }
page=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "check_html: installing chromium (apt-get)..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
    || { echo "check_html: cannot install chromium" >&2; exit 2; }
  browser=$(command -v chromium)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage
       --disable-background-networking --disable-component-update --disable-default-apps
       --disable-extensions --disable-sync --no-first-run --no-default-browser-check
       --mute-audio --hide-scrollbars --user-data-dir="$tmp/profile"
       --enable-logging=stderr --v=0 --virtual-time-budget=3000)

timeout 90 "$browser" "${flags[@]}" --dump-dom "file://$page" >"$tmp/dom.html" 2>"$tmp/log.txt"
rc=$?
fail=0
say() { echo "check_html: $*" >&2; }
[ $rc = 0 ] || { say "chromium exited $rc"; tail -n 20 "$tmp/log.txt" >&2; exit 1; }

grep -q 'data-rendered="yes"' "$tmp/dom.html" || { say "page did not finish rendering (no data-rendered)"; fail=1; }
charts=$(sed -n 's/.*data-charts="\([0-9]*\)".*/\1/p' "$tmp/dom.html" | head -n 1)
if [ -z "$charts" ] || [ "$charts" -lt "$min" ]; then say "expected >= $min charts, page has '${charts:-none}'"; fail=1; fi
if grep -q 'data-errors=' "$tmp/dom.html"; then
  say "script errors: $(sed -n 's/.*data-errors="\([^"]*\)".*/\1/p' "$tmp/dom.html" | head -n 1)"; fail=1
fi
if grep -E 'CONSOLE|Uncaught' "$tmp/log.txt" | grep -viE 'ERROR:gpu|dbus' | grep -q .; then
  say "console messages:"; grep -E 'CONSOLE|Uncaught' "$tmp/log.txt" >&2; fail=1
fi
svgs=$(grep -o '<svg class="chart' "$tmp/dom.html" | wc -l)
[ "$svgs" -ge "$min" ] || { say "the DOM has $svgs chart SVGs"; fail=1; }

timeout 90 "$browser" "${flags[@]}" --window-size=1280,6000 --screenshot="$(dirname "$page")/report.png" \
  "file://$page" >/dev/null 2>>"$tmp/log.txt" || say "screenshot failed (not fatal)"

if [ $fail = 0 ]; then
  echo "check_html: ok: $page renders in $(basename "$browser") with $charts charts, no console errors"
fi
exit $fail
