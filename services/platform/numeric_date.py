"""The one reading of a JWT NumericDate claim (`iat`, `nbf`, `exp`; RFC 7519 §2), pure.

Used by every place that checks a token's times: the gateway's access tokens, DPoP proofs,
the internal assertions and the STS's client assertions. A NumericDate here is a whole number
of seconds from the epoch, from 0 up to the end of the year 9999: JSON's `NaN` and `Infinity`
(Python's json module reads them), fractions, strings and booleans are refused, because
comparisons with them are silently wrong (`max(NaN, nbf)` is NaN, `NaN > now` is false).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z


class NumericDateError(ValueError):
    """A time claim that is absent where required or not a valid NumericDate; the message names it."""


class LifetimeTooLong(NumericDateError):
    """A token valid for longer than the cap allows."""


def numeric_date(claims: Mapping[str, Any], name: str, *, required: bool = True) -> int | None:
    """The claim as an int; None when it is absent and not required."""
    value = claims.get(name)
    if value is None:
        if required:
            raise NumericDateError(f"'{name}' is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NumericDateError(f"'{name}' must be a number of seconds, not {type(value).__name__}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise NumericDateError(f"'{name}' must be a whole number of seconds")
        value = int(value)
    if not 0 <= value <= MAX_NUMERIC_DATE:
        raise NumericDateError(f"'{name}' is out of range")
    return value


def token_times(
    claims: Mapping[str, Any], *, max_lifetime: float, now: float, iat_required: bool = True
) -> tuple[int | None, int | None, int]:
    """(iat, nbf, exp) of a token whose exp is required, after the lifetime cap: exp − iat, or
    exp − now without iat, must not exceed `max_lifetime` seconds."""
    iat = numeric_date(claims, "iat", required=iat_required)
    nbf = numeric_date(claims, "nbf", required=False)
    exp = numeric_date(claims, "exp")
    assert exp is not None
    start = now if iat is None else iat
    if exp - start > max_lifetime:
        raise LifetimeTooLong(f"the token lives longer than the {max_lifetime:g} s this server accepts (exp - iat)")
    return iat, nbf, exp
