"""Signing-key rotation while the STS runs: `rotate_signing_keys` writes the store, the STS
picks it up without a restart, old tokens keep verifying until their keys retire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from joserfc import jwt
from joserfc.jwk import KeySet

from services.sts.config import StsConfig
from services.sts.key_rotation import PUBLICATION_SECONDS
from services.sts.key_store import key_store_path, rotate_signing_keys
from services.sts.main import StsServer
from services.sts.token_client import CLIENT_ASSERTION_TYPE, build_client_assertion
from tests.fixtures.sts import SEEDS, Clock, private_jwk, start

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class RunningSts:
    server: StsServer
    clock: Clock
    var_dir: Path


@pytest_asyncio.fixture(loop_scope="module")
async def sts(tmp_path: Path) -> AsyncIterator[RunningSts]:
    clock = Clock()
    server = StsServer(StsConfig(port=0, seeds_dir=SEEDS, var_dir=tmp_path), clock=clock)
    serving = await start(server)
    yield RunningSts(server, clock, tmp_path)
    server.stop()
    await serving


async def token(sts: RunningSts) -> str:
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-ehr"), sts.server.issuer, now=int(sts.clock()))
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(sts.server.issuer + "/connect/token", data=form)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


ID_TOKEN_KID = "sts-id-token-1"  # the ID-token key, published beside the rotated ones and never rotated


async def jwks(sts: RunningSts) -> KeySet:
    """The published access-token signing keys (the ID-token key left out)."""
    async with httpx.AsyncClient() as http:
        keys = (await http.get(sts.server.issuer + "/.well-known/jwks.json")).json()["keys"]
    return KeySet.import_key_set({"keys": [k for k in keys if k["kid"] != ID_TOKEN_KID]})


def signing_kid(token: str, keys: KeySet) -> str:
    """Verifies the signature against the published keys; returns the kid that signed."""
    decoded = jwt.decode(token, keys, algorithms=["ES256"])
    return decoded.header["kid"]


async def test_the_store_is_created_from_the_seed_keys(sts: RunningSts) -> None:
    path = key_store_path(sts.var_dir)

    assert path.stat().st_mode & 0o777 == 0o600
    assert [k.kid for k in (await jwks(sts)).keys] == ["sts-signing-1", "sts-signing-2"]
    assert signing_kid(await token(sts), await jwks(sts)) == "sts-signing-1"


async def test_rotation_takes_effect_without_restart_and_old_tokens_keep_verifying(sts: RunningSts) -> None:
    before = await token(sts)

    new_kid = rotate_signing_keys(sts.var_dir, SEEDS, now=int(sts.clock()))
    sts.clock.advance(1.5)  # the STS looks at the store at most once a second
    published_first = await jwks(sts)
    still_old = await token(sts)
    sts.clock.advance(PUBLICATION_SECONDS)  # signs only once resource servers can have fetched it
    after = await token(sts)
    published = await jwks(sts)

    assert new_kid in [k.kid for k in published_first.keys]
    assert signing_kid(still_old, published_first) == "sts-signing-1"

    assert new_kid.startswith("sts-") and new_kid not in ("sts-signing-1", "sts-signing-2")
    assert [k.kid for k in published.keys] == [new_kid, "sts-signing-1", "sts-signing-2"]
    assert signing_kid(before, published) == "sts-signing-1"
    assert signing_kid(after, published) == new_kid


async def test_retired_keys_disappear_once_their_tokens_have_expired(sts: RunningSts) -> None:
    retention = 600 + 60  # token lifetime + leeway
    first_rotation = int(sts.clock())
    first_kid = rotate_signing_keys(sts.var_dir, SEEDS, now=first_rotation)
    sts.clock.advance(PUBLICATION_SECONDS + 1.5)
    signed_by_first = await token(sts)
    sts.clock.advance(100)
    second_rotation = int(sts.clock())
    second_kid = rotate_signing_keys(sts.var_dir, SEEDS, now=second_rotation)

    sts.clock.move_to(first_rotation + PUBLICATION_SECONDS + retention + 1)
    after_seed_keys_retired = await jwks(sts)
    sts.clock.move_to(second_rotation + PUBLICATION_SECONDS + retention + 1)
    after_first_retired = [k.kid for k in (await jwks(sts)).keys]

    assert [k.kid for k in after_seed_keys_retired.keys] == [second_kid, first_kid]
    assert signing_kid(signed_by_first, after_seed_keys_retired) == first_kid
    assert after_first_retired == [second_kid]


async def test_a_restarted_sts_keeps_the_rotated_keys(tmp_path: Path) -> None:
    new_kid = rotate_signing_keys(tmp_path, SEEDS)
    server = StsServer(StsConfig(port=0, seeds_dir=SEEDS, var_dir=tmp_path))
    serving = await start(server)
    try:
        async with httpx.AsyncClient() as http:
            keys = (await http.get(server.issuer + "/.well-known/jwks.json")).json()["keys"]
    finally:
        server.stop()
        await serving

    assert [k["kid"] for k in keys] == [new_kid, "sts-signing-1", "sts-signing-2", ID_TOKEN_KID]
    assert all("d" not in k and "dev_only" not in k for k in keys)
