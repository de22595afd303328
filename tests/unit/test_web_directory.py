"""The register the pages take names from: the seeds' personnel and organisations in
development (without person numbers), nothing in production, bounded searches."""

from __future__ import annotations

import dataclasses
import json

import pytest

from gateway.web.directory import MAX_SEARCH_RESULTS, Directory
from services.platform.settings import REPO_ROOT, Settings
from tests.fixtures import people
from tests.support_web import seeded_directory


def test_the_seeded_register_knows_people_by_hpr_and_organisations_by_number() -> None:
    directory = seeded_directory()
    sigrid = directory.person(people.SIGRID_HPR)
    assert sigrid is not None and sigrid.name == "Sigrid Sykepleiersen" and sigrid.authorization == "SP"
    assert directory.organisation_name(sigrid.orgnr_child) == "Bodø kommune – hjemmesykepleie"
    assert directory.region_of("910000012") == "Nordland"
    assert [o.orgnr for o in directory.points_of_care("910000012")] == ["910000039", "910000020"]
    assert directory.organisation_name("999999999") == "999999999"  # unknown: the number itself


def test_no_person_number_is_kept() -> None:
    pids = {p["pid"] for p in json.loads((REPO_ROOT / "seeds" / "personnel.json").read_text())}
    held = repr(seeded_directory())
    assert pids and not any(pid in held for pid in pids)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("Sigrid", ["Sigrid Sykepleiersen"]),
        ("sykepleiersen sigrid", ["Sigrid Sykepleiersen"]),
        ("BJORN", ["Bjørn Beredskapsen"]),
        (people.LARS_HPR, ["Lars Legevaktsen"]),
        ("990000999", []),
        ("", []),
        ("   ", []),
        (people.SIGRID, []),  # a person number finds nobody
    ],
)
def test_search_by_name_words_or_hpr_number(query, names) -> None:
    assert [p.name for p in seeded_directory().search(query)] == names


def test_search_is_bounded(tmp_path) -> None:
    register = [
        {"name": f"Helse Person {i:03}", "hpr_number": f"{900000000 + i}", "orgnr_parent": "910000012"}
        for i in range(MAX_SEARCH_RESULTS * 3)
    ]
    (tmp_path / "personnel.json").write_text(json.dumps(register))
    found = Directory.from_seeds(tmp_path).search("helse")
    assert len(found) == MAX_SEARCH_RESULTS and found[0].name == "Helse Person 000"


def test_production_has_an_empty_register() -> None:
    production = dataclasses.replace(Settings(), env="production")
    assert Directory.for_settings(production) == Directory.empty()
    assert Directory.for_settings(Settings()).person(people.SIGRID_HPR) is not None


@pytest.mark.parametrize("content", ["not json", '{"a": 1}', '[{"name": "x"}]', "[1]"])
def test_a_malformed_register_file_is_refused(tmp_path, content) -> None:
    (tmp_path / "organisations.json").write_text(content)
    with pytest.raises(ValueError):
        Directory.from_seeds(tmp_path)
