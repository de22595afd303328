#!/usr/bin/env bash
# Regenerates the Python code committed next to the protos.
# Usage: gen_protos.sh [PROTO_ROOT]   (default: the repository's protos/)
# The protoc invocation must stay exactly as is: `make proto-drift` regenerates into a copy with it
# and compares the result with the committed code.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PY:-$repo/.venv/bin/python}"
cd "${1:-$repo/protos}"

shopt -s nullglob
protos=(samhandling/*/v1/*.proto)
if ((${#protos[@]} == 0)); then
  echo "gen_protos: no samhandling/*/v1/*.proto under $PWD" >&2
  exit 1
fi
"$PY" -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. samhandling/*/v1/*.proto
