"""DPoP at the token endpoint: rotating nonces and the proof's key thumbprint."""

import pytest
from joserfc.jwk import ECKey

from services.platform.dpop import DpopVerifier, make_proof
from services.sts.errors import InvalidDpopProofError, UseDpopNonceError
from services.sts.token_dpop import NONCE_PERIOD_SECONDS, DpopNonces, proof_key_thumbprint

URL = "https://sts.example/connect/token"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def thumbprint(proof: str | None, nonces: DpopNonces, clock: Clock) -> str | None:
    verifier = DpopVerifier(clock=clock)
    return proof_key_thumbprint([proof] if proof else [], verifier=verifier, nonces=nonces, token_endpoint=URL)


def test_nonces_rotate_and_the_previous_one_stays_accepted() -> None:
    clock = Clock()
    nonces = DpopNonces(b"secret", clock)
    first = nonces.current()

    clock.now += NONCE_PERIOD_SECONDS
    second = nonces.current()
    accepted_after_one_change = nonces.accepted()
    clock.now += NONCE_PERIOD_SECONDS

    assert first != second and accepted_after_one_change == (second, first)
    assert first not in nonces.accepted()
    assert DpopNonces(b"other", clock).current() != nonces.current()


def test_a_proof_with_the_current_or_previous_nonce_gives_the_keys_thumbprint() -> None:
    clock, key = Clock(), ECKey.generate_key("P-256")
    nonces = DpopNonces(b"secret", clock)
    previous = nonces.current()
    clock.now += NONCE_PERIOD_SECONDS

    for nonce in (nonces.current(), previous):
        assert thumbprint(make_proof(key, "POST", URL, nonce=nonce, now=clock.now), nonces, clock) == key.thumbprint()


@pytest.mark.parametrize("nonce", [None, "made-up"])
def test_a_proof_without_a_current_nonce_is_challenged(nonce: str | None) -> None:
    clock, key = Clock(), ECKey.generate_key("P-256")
    nonces = DpopNonces(b"secret", clock)

    with pytest.raises(UseDpopNonceError):
        thumbprint(make_proof(key, "POST", URL, nonce=nonce, now=clock.now), nonces, clock)


def test_a_nonce_two_periods_old_is_challenged() -> None:
    clock, key = Clock(), ECKey.generate_key("P-256")
    nonces = DpopNonces(b"secret", clock)
    old = nonces.current()
    clock.now += 2 * NONCE_PERIOD_SECONDS

    with pytest.raises(UseDpopNonceError):
        thumbprint(make_proof(key, "POST", URL, nonce=old, now=clock.now), nonces, clock)


def test_no_proof_means_no_binding_and_two_proofs_are_refused() -> None:
    clock, key = Clock(), ECKey.generate_key("P-256")
    nonces = DpopNonces(b"secret", clock)
    proof = make_proof(key, "POST", URL, nonce=nonces.current(), now=clock.now)

    assert thumbprint(None, nonces, clock) is None
    with pytest.raises(InvalidDpopProofError):
        proof_key_thumbprint([proof, proof], verifier=DpopVerifier(clock=clock), nonces=nonces, token_endpoint=URL)


def test_a_proof_for_another_endpoint_is_invalid() -> None:
    clock, key = Clock(), ECKey.generate_key("P-256")
    nonces = DpopNonces(b"secret", clock)

    with pytest.raises(InvalidDpopProofError) as refused:
        thumbprint(make_proof(key, "POST", URL + "x", nonce=nonces.current(), now=clock.now), nonces, clock)

    assert "htu" in refused.value.description
