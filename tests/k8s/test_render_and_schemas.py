"""Every overlay under k8s/ renders with `kubectl kustomize`, and every object it renders is valid
against its schema, offline and strictly (an unknown field is an error, as the API server's
strict field validation makes it): built-in kinds against the Kubernetes OpenAPI schemas that
PyPI's kubernetes-validate ships, for the oldest Kubernetes the manifests support (1.30: the
preStop `sleep` action is on by default from there) and the newest it knows; the custom
resources against their CRDs' schemas vendored in crd_schemas.json (CloudNativePG v1.30.0,
Gateway API v1.6.1 standard channel; `description` fields dropped, see each entry's `source`;
scripts/vendor_crd_schemas.py makes the file from the CRD manifests)."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.k8s.rendered import NAMESPACE, OVERLAYS, Doc, named, render

KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
CLUSTER_SCOPED = {"Namespace"}


def test_there_are_the_two_overlays():
    assert OVERLAYS == ("dev", "production")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_into_the_namespace(overlay: str):
    docs = render(overlay)
    assert docs
    for doc in docs:
        if doc["kind"] in CLUSTER_SCOPED:
            assert doc["metadata"]["name"] == NAMESPACE
        else:
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{doc['kind']}/{doc['metadata']['name']}"
    kinds_and_names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(kinds_and_names) == len(set(kinds_and_names)), "an object is rendered twice"


@functools.cache
def _crd_validators() -> dict[str, jsonschema.protocols.Validator]:
    vendored = json.loads((Path(__file__).parent / "crd_schemas.json").read_text())
    return {key: jsonschema.Draft7Validator(_strict(entry["schema"])) for key, entry in vendored.items()}


def _strict(schema: Any) -> Any:
    """An object schema with properties and no x-kubernetes-preserve-unknown-fields refuses other
    properties (the API server would prune them silently, so a misspelt field would be lost)."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {k: _strict(v) for k, v in schema.items()}
    if (
        "properties" in strict
        and "additionalProperties" not in strict
        and not strict.get("x-kubernetes-preserve-unknown-fields")
    ):
        strict["additionalProperties"] = False
    return strict


def _schema_errors(doc: Doc, version: str) -> list[str]:
    try:
        kubernetes_validate.validate(doc, version, strict=True)
        return []
    except kubernetes_validate.ValidationError as exc:
        return [str(exc)]
    except kubernetes_validate.SchemaNotFoundError:
        pass
    group_version, kind = doc["apiVersion"], doc["kind"]
    validator = _crd_validators().get(f"{group_version}/{kind}")
    if validator is None:
        return [f"no schema for {group_version} {kind}: vendor its CRD into crd_schemas.json"]
    # The API server owns metadata; the CRD schemas leave it open.
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_against_its_schema(overlay: str, version: str):
    problems = {
        f"{d['kind']}/{d['metadata']['name']}": errors
        for d in render(overlay)
        if (errors := _schema_errors(d, version))
    }
    assert problems == {}


def test_the_validation_catches_a_misspelt_field():
    """The checks above are strict for built-in kinds and for custom resources alike."""
    docs = render("production")
    deployment = copy.deepcopy(named(docs, "Deployment", "consent"))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    assert _schema_errors(deployment, KUBERNETES_VERSIONS[0])
    cluster = copy.deepcopy(named(docs, "Cluster", "samhandling-db"))
    cluster["spec"]["postgresql"]["synchronous"]["numbr"] = 1
    assert any("numbr" in e for e in _schema_errors(cluster, KUBERNETES_VERSIONS[0]))
    route = copy.deepcopy(named(docs, "GRPCRoute", "samhandling-grpc"))
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = "grpc"
    assert _schema_errors(route, KUBERNETES_VERSIONS[0])
    assert _schema_errors({"apiVersion": "example.com/v1", "kind": "Unknown", "metadata": {"name": "x"}}, "1.30.0")
