"""Refreshes tests/k8s/crd_schemas.json from CRD manifests: the openAPIV3Schema of every served,
non-deprecated version, without `description` fields (they are most of a CRD's size).

    python scripts/vendor_crd_schemas.py SOURCE=CRD.yaml ...

SOURCE names where the CRD came from (`owner/repo@tag:path`), kept beside each schema; pass
every CRD the overlays use (today CloudNativePG's clusters and databases, the Gateway API's
standard gateways, grpcroutes and httproutes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

TARGET = Path(__file__).resolve().parents[1] / "tests" / "k8s" / "crd_schemas.json"


def _without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


def main(arguments: list[str]) -> int:
    schemas: dict[str, dict[str, Any]] = {}
    for argument in arguments:
        source, _, path = argument.partition("=")
        crd = yaml.safe_load(Path(path).read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served") and not version.get("deprecated"):
                schemas[f"{group}/{version['name']}/{kind}"] = {
                    "source": source,
                    "schema": _without_descriptions(version["schema"]["openAPIV3Schema"]),
                }
    TARGET.write_text(json.dumps(schemas, separators=(",", ":"), sort_keys=True))
    print(f"{TARGET}: {', '.join(sorted(schemas))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
