#!/bin/sh
# Installs the Debian packages named on the command line that are missing.
#
# Used by `make deps` (and so by every make target that builds).  Root runs
# apt-get itself; another user goes through sudo when sudo can run without a
# password prompt.  When neither works, or apt-get fails (no network), it
# names the missing packages and the command that installs them and exits 1,
# so make stops here and never goes on to a compiler error.
set -u
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

explain() {
  echo "gillua: missing Debian packages:$missing" >&2
  echo "gillua: $1" >&2
  echo "gillua: install them with:  sudo apt-get install -y$missing" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || explain "apt-get not found (gillua is set up for Debian)"
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  explain "not root and no password-less sudo, so they cannot be installed from here"
fi
echo "installing:$missing"
$SUDO apt-get update -qq || explain "apt-get update failed (no network?)"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing \
  || explain "apt-get install failed"
