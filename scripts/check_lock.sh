#!/usr/bin/env bash
# Fails when requirements.lock no longer matches pyproject.toml's runtime dependencies: a
# dependency added or removed, a bound that excludes a pinned version, a changed marker, or a
# hand-edited pin. It compiles again with the committed pins as preferences (so a new upstream
# release alone changes nothing) and compares the pins, not the hashes: PyPI never changes a
# file once uploaded, but a project may upload another wheel for a pinned version later, which
# would add a hash without making the lock wrong. Whether the recorded hashes are right is proved
# by installing the lock with --require-hashes (tests/image/test_image_install.py).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock="$repo/requirements.lock"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT

cp "$lock" "$fresh/requirements.lock"
"$repo/scripts/compile_lock.sh" "$fresh/requirements.lock"

# One line per pin: "name==version ; marker", without the line continuation and the hashes.
pins() { grep -E '^[A-Za-z0-9]' "$1" | sed -E 's/[[:space:]]*\\$//'; }

if ! diff -u --label committed/requirements.lock --label fresh/requirements.lock \
     <(pins "$lock") <(pins "$fresh/requirements.lock") >&2; then
  echo "lock check: requirements.lock no longer matches pyproject.toml's dependencies (run 'make lock' and commit it)" >&2
  exit 1
fi
echo "lock check: requirements.lock matches pyproject.toml ($(pins "$lock" | wc -l) pins)"
