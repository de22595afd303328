"""`samhandling up` prints where the web pages are and whom to log in as (every person named
is one of the seeds'), and no longer the token-in-fragment capacity page."""

from __future__ import annotations

import json
from pathlib import Path

from services.cli.up import _print_welcome
from services.platform.settings import REPO_ROOT, Settings
from tests.fixtures import people


def test_the_welcome_names_the_pages_and_the_seeded_people(capsys, tmp_path: Path) -> None:
    settings = Settings.from_env({})
    _print_welcome(settings, tmp_path)
    printed = capsys.readouterr().out
    http = settings.addresses["gateway_http"]
    for path in ("/pasient", "/revisor", "/ansatt/kapasitet", "/ansatt/eskaleringer"):
        assert f"http://{http}{path} " in printed
    assert "/pages/capacity" not in printed and "access_token" not in printed
    personnel = {p["pid"]: p["name"] for p in json.loads((REPO_ROOT / "seeds" / "personnel.json").read_text())}
    assert "Marte Mottaksen 19919110034" in printed and personnel[people.MARTE] == "Marte Mottaksen"
    for pid in (people.ESKIL, people.MIKKEL, people.PETRA, people.SIGRID, people.LARS):
        assert pid in printed


def seeded_names() -> dict[str, str]:
    seeds = REPO_ROOT / "seeds"
    names = {p["patient_id"]: p["name"] for p in json.loads((seeds / "patients.json").read_text())}
    for register in ("personnel.json", "auditors.json"):
        names |= {p["pid"]: p["name"] for p in json.loads((seeds / register).read_text())}
    return names


def test_every_person_named_is_the_seeds_person_of_that_number(capsys, tmp_path: Path) -> None:
    _print_welcome(Settings.from_env({}), tmp_path)
    printed = capsys.readouterr().out
    names = seeded_names()
    for pid in (people.ESKIL, people.MIKKEL, people.PETRA, people.MARTE, people.SIGRID, people.LARS):
        assert f"{names[pid]} {pid}" in printed
    assert '"Trying the flows by hand"' in printed
    assert "\n## Trying the flows by hand\n" in (REPO_ROOT / "docs" / "web-pages.md").read_text()


def test_mikkel_lines_up_under_eskil_whatever_the_port(capsys, tmp_path: Path) -> None:
    settings = Settings.from_env({"SAMHANDLING_GATEWAY_HTTP_ADDR": "127.0.0.1:28080"})
    _print_welcome(settings, tmp_path)
    lines = capsys.readouterr().out.splitlines()
    eskil = next(line for line in lines if "Eskil Eksempelsen" in line)
    mikkel = next(line for line in lines if "Mikkel Midlertidigsen" in line)
    assert eskil.index("Eskil") == mikkel.index("Mikkel")
