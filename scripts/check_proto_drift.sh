#!/usr/bin/env bash
# Fails when the committed generated code differs from what the protos generate now
# (edited proto without `make protos`, hand-edited output, or a different grpcio-tools).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
committed="$repo/protos"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT

(cd "$committed" && cp --parents samhandling/*/v1/*.proto "$fresh/")
"$repo/scripts/gen_protos.sh" "$fresh"

generated() { (cd "$1" && find samhandling \( -name '*_pb2.py' -o -name '*_pb2.pyi' -o -name '*_pb2_grpc.py' \) | sort); }

drift=()
while IFS= read -r f; do
  cmp -s "$fresh/$f" "$committed/$f" || drift+=("$f")
done < <(sort -u <(generated "$fresh") <(generated "$committed"))

if ((${#drift[@]} > 0)); then
  echo "proto drift: these generated files differ from a fresh generation (run 'make protos'):" >&2
  for f in "${drift[@]}"; do
    if [[ ! -e $committed/$f ]]; then echo "  $f (missing)" >&2
    elif [[ ! -e $fresh/$f ]]; then echo "  $f (stale: no .proto generates it)" >&2
    else echo "  $f" >&2; fi
  done
  for f in "${drift[@]}"; do
    [[ -e $committed/$f && -e $fresh/$f ]] || continue
    diff -u "$committed/$f" "$fresh/$f" --label "committed/$f" --label "fresh/$f" | head -n 20 >&2 || true
  done
  exit 1
fi
echo "proto drift: none"
