#!/usr/bin/env bash
# Makes sure /usr/bin/python3 can `import torch` (Debian's python3-torch) and that the system
# BLAS (libblas.so.3) is OpenBLAS, for the PyTorch side of the benchmark and the parity tests.
# Quick and silent-ish when all is in place; installs with apt-get (as root) when not; exits
# non-zero with one line saying why when it cannot. It does not touch any other Python.
set -u

PY=/usr/bin/python3
LIBBLAS=/usr/lib/x86_64-linux-gnu/libblas.so.3
ALT=libblas.so.3-x86_64-linux-gnu

fail() {
  echo "ensure-torch: $*" >&2
  exit 1
}

have_torch() { "$PY" -c 'import torch' >/dev/null 2>&1; }
blas_is_openblas() { readlink -f "$LIBBLAS" 2>/dev/null | grep -q openblas; }

# one interpreter start (importing torch takes a second or two): version, or nothing
torch_version() { "$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null; }

if blas_is_openblas && v=$(torch_version) && [ -n "$v" ]; then
  echo "ensure-torch: ok (torch $v, libblas.so.3 -> $(readlink -f "$LIBBLAS"))"
  exit 0
fi

[ "$(id -u)" = 0 ] || fail "torch or OpenBLAS missing and not root: run as root, or: apt-get install -y python3-torch libopenblas0-pthread"
command -v apt-get >/dev/null 2>&1 || fail "torch or OpenBLAS missing and apt-get not available (not a Debian/Ubuntu system?)"

if ! have_torch || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  echo "ensure-torch: installing python3-torch and libopenblas0-pthread with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed (no network or no package mirror?)"
  apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null 2>&1 ||
    fail "apt-get install python3-torch libopenblas0-pthread failed"
fi

if ! blas_is_openblas; then
  update-alternatives --auto "$ALT" >/dev/null 2>&1 || true
  if ! blas_is_openblas; then
    # --auto picks the highest priority; if another BLAS outranks OpenBLAS, set it explicitly
    target=$(update-alternatives --list "$ALT" 2>/dev/null | grep openblas | head -n1)
    [ -n "$target" ] && update-alternatives --set "$ALT" "$target" >/dev/null 2>&1
  fi
  blas_is_openblas || fail "libblas.so.3 resolves to $(readlink -f "$LIBBLAS"), not OpenBLAS, and update-alternatives could not change it"
fi

v=$(torch_version) && [ -n "$v" ] || fail "python3-torch is installed but '$PY -c \"import torch\"' still fails"
echo "ensure-torch: ok (torch $v, libblas.so.3 -> $(readlink -f "$LIBBLAS"))"
