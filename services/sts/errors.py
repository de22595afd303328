"""OAuth error codes beyond RFC 6749 that the STS answers with."""

from __future__ import annotations

import re

from authlib.oauth2.rfc6749 import OAuth2Error

# RFC 6749 §5.2 allows only these characters in error_description (Authlib enforces it).
_NOT_ALLOWED = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def error_description(text: str) -> str:
    """`text` made fit for error_description: it may echo what a client sent."""
    return _NOT_ALLOWED.sub("?", text)[:300]


class InvalidDpopProofError(OAuth2Error):
    """RFC 9449 §5: the DPoP proof is missing where required, or not acceptable."""

    error = "invalid_dpop_proof"


class UseDpopNonceError(OAuth2Error):
    """RFC 9449 §8: retry with the nonce in the `DPoP-Nonce` response header."""

    error = "use_dpop_nonce"


class TemporarilyUnavailableError(OAuth2Error):
    """RFC 6749 §4.1.2.1: the authorization server cannot take the request now (too many pending logins)."""

    error = "temporarily_unavailable"


class InvalidAuthorizationDetailsError(OAuth2Error):
    """RFC 9396 §5: `authorization_details` is malformed or asks for something not allowed."""

    error = "invalid_authorization_details"
