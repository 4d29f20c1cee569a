#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium, for the studio's browser tests
# (test/studio.test.ts drives it with playwright-core; Playwright's own browser download is never
# used). Quick and quiet when it is there; installs it with apt-get (as root) when not; exits
# non-zero with one line saying why when it cannot.
set -u

BIN=/usr/bin/chromium

fail() {
  echo "ensure-chromium: $*" >&2
  exit 1
}

version() { "$BIN" --version 2>/dev/null | head -n1; }

if [ -x "$BIN" ] && v=$(version) && [ -n "$v" ]; then
  echo "ensure-chromium: ok ($v)"
  exit 0
fi

[ "$(id -u)" = 0 ] || fail "chromium missing and not root: run as root, or: apt-get install -y chromium"
command -v apt-get >/dev/null 2>&1 || fail "chromium missing and apt-get not available (not a Debian/Ubuntu system?)"

echo "ensure-chromium: installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed (no network or no package mirror?)"
apt-get install -y -qq chromium >/dev/null 2>&1 || fail "apt-get install chromium failed"

v=$(version) && [ -n "$v" ] || fail "chromium is installed but '$BIN --version' fails"
echo "ensure-chromium: ok ($v)"
