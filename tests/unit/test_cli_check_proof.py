"""`samhandling audit check-proof` offline on both leaf versions: a proof made before version 2, a
patient's version-2 proof (commitments shown as such) and an auditor's (openings shown, checked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.main import main
from tests.fixtures.event_proofs import ORIGIN, PID, VKEY, WORDS, bad_openings, build, build_v2


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "hendelse.proof"
    path.write_text(text)
    code = main(["audit", "check-proof", str(path), "--vkey", VKEY])
    return code, capsys.readouterr().out


def test_a_version_1_proof_made_before_version_2_still_verifies(tmp_path, capsys):
    code, out = check(tmp_path, build(2), capsys)
    assert code == 0
    assert f"the proof verifies: the event is in the log {ORIGIN}" in out and "version 1, sequence 3" in out
    assert "commit" not in out


def test_a_patients_proof_shows_the_commitments_only(tmp_path, capsys):
    code, out = check(tmp_path, build_v2(4, opened=False), capsys)
    assert code == 0
    assert "version 2, sequence 5" in out
    assert "actor_pid: committed, not shown (actor_pid_commitment " in out
    assert "justification: committed, not shown" in out
    assert PID not in out


def test_an_auditors_proof_shows_the_opened_values(tmp_path, capsys):
    code, out = check(tmp_path, build_v2(5, opened=True), capsys)
    assert code == 0
    assert f"actor_pid: '{PID}' (opened; matches the leaf's commitment)" in out
    assert f"justification: {WORDS!r} (opened; matches the leaf's commitment)" in out


def test_a_proof_with_a_false_opening_fails(tmp_path, capsys):
    code, out = check(tmp_path, bad_openings()["another person number"], capsys)
    assert code == 1
    assert out.startswith("FAILED: the opening of actor_pid does not match")


def test_a_missing_or_binary_file_fails_in_one_line(tmp_path, capsys):
    code = main(["audit", "check-proof", str(tmp_path / "missing.proof"), "--vkey", VKEY])
    assert (code, capsys.readouterr().out) == (
        1,
        f"FAILED: cannot read the proof file {tmp_path / 'missing.proof'}: No such file or directory\n",
    )
    (tmp_path / "binary.proof").write_bytes(b"\x8a\xff" * 10)
    code = main(["audit", "check-proof", str(tmp_path / "binary.proof"), "--vkey", VKEY])
    assert (code, capsys.readouterr().out) == (
        1,
        f"FAILED: the proof file {tmp_path / 'binary.proof'} is not text (a proof is a C2SP tlog-proof)\n",
    )
