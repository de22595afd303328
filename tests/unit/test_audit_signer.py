"""The log's checkpoint key: the development key in dev mode; in production a named key and
origin, and never a development key (by location or by its dev_only line)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from services.audit.checkpoints import NoteSigner
from services.audit.signer import DEV_ORIGIN, load_log_signer
from services.platform.settings import Settings, SettingsError

ORIGIN = "samhandling.nhn.no/audit"


def production(**fields) -> Settings:
    return replace(Settings(env="production"), **fields)


def test_dev_mode_signs_with_the_development_key_and_origin():
    signer = load_log_signer(Settings())
    assert signer.origin == DEV_ORIGIN and signer.verifier.name == DEV_ORIGIN
    assert signer.open(signer.sign(1, bytes(32))).size == 1


def test_production_refuses_the_development_key_even_when_copied_elsewhere(tmp_path):
    with pytest.raises(SettingsError, match="refusing development key"):
        load_log_signer(production(audit_log_origin=ORIGIN))  # the default: seeds/keys/
    copied = tmp_path / "audit-log.pem"
    copied.write_bytes(Settings().audit_log_key().read_bytes())
    with pytest.raises(SettingsError, match="refusing development key"):
        load_log_signer(production(audit_log_origin=ORIGIN, audit_log_key_file=copied))


def test_production_signs_with_a_named_key_for_a_named_origin(tmp_path):
    key = tmp_path / "audit-log.pem"
    key.write_bytes(NoteSigner.generate("unused").to_pem())
    with pytest.raises(SettingsError, match="SAMHANDLING_AUDIT_LOG_ORIGIN"):
        load_log_signer(production(audit_log_key_file=key))
    signer = load_log_signer(production(audit_log_key_file=key, audit_log_origin=ORIGIN))
    assert signer.origin == ORIGIN and signer.verifier.vkey.startswith(ORIGIN + "+")


def test_unreadable_or_unsuitable_keys_and_origins_stop_the_start(tmp_path):
    with pytest.raises(SettingsError, match="cannot read"):
        load_log_signer(Settings(audit_log_key_file=tmp_path / "missing.pem"))
    with pytest.raises(SettingsError, match="origin"):
        load_log_signer(Settings(audit_log_origin="has a space"))
    p256 = tmp_path / "p256.pem"
    p256.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    with pytest.raises(SettingsError, match="must be Ed25519"):
        load_log_signer(Settings(audit_log_key_file=p256))
