"""`samhandling up` prints where the web pages are and whom to log in as (every person named
is one of the seeds'), and no longer the token-in-fragment capacity page."""
from __future__ import annotations

import json
from pathlib import Path

from services.cli.up import _print_welcome
from services.platform.settings import REPO_ROOT, Settings


def test_the_welcome_names_the_pages_and_the_seeded_people(capsys, tmp_path: Path) -> None:
    settings = Settings.from_env({})
    _print_welcome(settings, tmp_path)
    printed = capsys.readouterr().out
    http = settings.addresses["gateway_http"]
    for path in ("/pasient", "/revisor", "/ansatt/kapasitet"):
        assert f"http://{http}{path} " in printed
    assert "/pages/capacity" not in printed and "access_token" not in printed
    people = {p["pid"]: p["name"] for p in json.loads((REPO_ROOT / "seeds" / "personnel.json").read_text())}
    assert "Marte Mottaksen 19919110034" in printed and people["19919110034"] == "Marte Mottaksen"
    for pid in ("22750884907", "45869005006", "11747910016", "08847810026", "23898220028"):
        assert pid in printed
