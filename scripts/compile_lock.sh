#!/usr/bin/env bash
# Compiles the container image's runtime dependencies (pyproject.toml's [project] dependencies,
# no extras) into a pip requirements file with every pin's hashes, for CPython 3.11 (the image's)
# on any platform (uv's --universal: Linux x86_64 and aarch64 alike, markers where they differ).
# Pins already in the output file are kept unless pyproject.toml no longer allows them
# (uv reads them as preferences), so compiling again changes nothing by itself.
# Usage: scripts/compile_lock.sh OUTPUT [UV OPTIONS]   (UV: the uv to run, default .venv/bin/uv), e.g.
#   scripts/compile_lock.sh requirements.lock --upgrade-package grpcio   (one pin to its newest allowed)
#   scripts/compile_lock.sh requirements.lock --upgrade                  (every pin)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
uv="${UV:-$repo/.venv/bin/uv}"
cd "$repo"
"$uv" pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes \
  --no-emit-index-url --custom-compile-command 'make lock' --output-file "$@"
