from pathlib import Path

import pytest

from services.platform.settings import Settings
from services.sts.config import DEFAULT_SEEDS_DIR, StsConfig, StsConfigError
from services.sts.main import StsServer


def test_settings_give_the_documented_issuer() -> None:
    config = StsConfig.from_settings(Settings.from_env({}))

    assert (config.host, config.port, config.issuer) == ("127.0.0.1", 8090, "http://127.0.0.1:8090")
    assert config.token_lifetime_seconds == 600
    assert config.seeds_dir == DEFAULT_SEEDS_DIR
    assert [p.name for p in config.signing_key_paths()] == [
        "sts-signing-1.dev-only.jwk.json",
        "sts-signing-2.dev-only.jwk.json",
    ]


def test_port_zero_derives_the_issuer_from_the_bound_port() -> None:
    assert StsConfig(port=0).issuer_for(41234) == "http://127.0.0.1:41234"


def test_explicit_issuer_wins_over_the_bound_address() -> None:
    config = StsConfig.from_settings(
        Settings.from_env(
            {"SAMHANDLING_TOKEN_ISSUER": "http://sts.samhandling:8090", "SAMHANDLING_LISTEN": "0.0.0.0:0"}
        )
    )

    assert (config.host, config.port) == ("0.0.0.0", 0)
    assert config.issuer_for(5555) == "http://sts.samhandling:8090"


@pytest.mark.parametrize(
    ("host", "issuer"), [("0.0.0.0", "http://127.0.0.1:9"), ("::", "http://[::1]:9"), ("::1", "http://[::1]:9")]
)
def test_wildcard_and_ipv6_hosts_give_a_usable_issuer(host: str, issuer: str) -> None:
    assert StsConfig(host=host, port=0).issuer_for(9) == issuer


def test_var_dir_comes_from_the_settings_and_holds_the_key_store() -> None:
    config = StsConfig.from_settings(Settings.from_env({"SAMHANDLING_VAR_DIR": "/tmp/samhandling-var"}))

    assert config.var_dir == Path("/tmp/samhandling-var")
    assert StsConfig().var_dir is None  # in memory: the seed keys, never rotated


def test_seeds_dir_comes_from_the_settings() -> None:
    config = StsConfig.from_settings(Settings.from_env({"SAMHANDLING_SEEDS_DIR": "/tmp/other-seeds"}))

    assert config.signing_key_paths()[0] == Path("/tmp/other-seeds/keys/sts-signing-1.dev-only.jwk.json")


@pytest.mark.parametrize(
    "config",
    [
        {"port": 70000},
        {"issuer": "http://127.0.0.1:8090/"},
        {"issuer": "127.0.0.1:8090"},
        {"env": "staging"},
    ],
)
def test_malformed_settings_are_refused(config: dict) -> None:
    with pytest.raises(StsConfigError):
        StsConfig(**config)


def test_the_dev_sts_refuses_production_mode() -> None:
    with pytest.raises(StsConfigError, match="production"):
        StsServer(StsConfig(env="production"))
