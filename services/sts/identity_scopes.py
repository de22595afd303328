"""The OpenID Connect scopes a login client may ask for beyond its registered API scopes:
HelseID's identity scopes for health personnel, ID-porten's for patients (services/sts/id_tokens.py
says which claims each one brings)."""

from __future__ import annotations

OPENID = "openid"
PROFILE = "profile"
PID_SCOPE = "helseid://scopes/identity/pid"
SECURITY_LEVEL_SCOPE = "helseid://scopes/identity/security_level"
ASSURANCE_LEVEL_SCOPE = "helseid://scopes/identity/assurance_level"
HPR_NUMBER_SCOPE = "helseid://scopes/hpr/hpr_number"
# The scopes a login client may ask for beyond its registered ones, per kind of login.
IDENTITY_SCOPES: dict[str, tuple[str, ...]] = {
    "personnel": (OPENID, PROFILE, PID_SCOPE, SECURITY_LEVEL_SCOPE, ASSURANCE_LEVEL_SCOPE, HPR_NUMBER_SCOPE),
    "patient": (OPENID, PROFILE),
}
ALL_IDENTITY_SCOPES = tuple(dict.fromkeys(s for scopes in IDENTITY_SCOPES.values() for s in scopes))
