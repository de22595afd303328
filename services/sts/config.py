"""Settings of the development STS, read once by its composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from services.platform.helseid import DEFAULT_AUDIENCE
from services.platform.settings import Settings

DEFAULT_SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
SIGNING_KEY_NAMES = ("sts-signing-1", "sts-signing-2")
ID_TOKEN_KEY_NAME = "sts-id-token"


class StsConfigError(ValueError):
    """A setting is malformed, or the STS was asked to run where it must not."""


@dataclass(frozen=True)
class StsConfig:
    """Where the STS listens, who it says it is, and which keys it signs with.

    `issuer` None means "derive it from the bound address", so port 0 works: the issuer is
    settled once the socket is bound (see `issuer_for`).
    `signing_key_files` empty means the two dev keys in seeds/keys; the first one signs, both
    are published in the JWKS. With a `var_dir` they only seed the key store
    `<var_dir>/sts/signing-keys.json` (created on first start, rotated by `samhandling
    rotate-keys`); without one (tests) they are held in memory and never rotate.
    """

    host: str = "127.0.0.1"
    port: int = 8090
    issuer: str | None = None
    seeds_dir: Path = DEFAULT_SEEDS_DIR
    signing_key_files: tuple[Path, ...] = ()
    var_dir: Path | None = None
    token_lifetime_seconds: int = 600
    audience: str = DEFAULT_AUDIENCE
    env: str = "dev"
    # SAMHANDLING_LOG_PSEUDONYM_KEY; None: the development key of `var_dir` (or a random one).
    log_pseudonym_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise StsConfigError(f"STS port out of range: {self.port}")
        if self.issuer is not None and (
            not self.issuer.startswith(("http://", "https://")) or self.issuer.endswith("/")
        ):
            raise StsConfigError(f"STS issuer must be an http(s) URL without a trailing slash: {self.issuer!r}")
        if self.env not in ("dev", "production"):
            raise StsConfigError(f"SAMHANDLING_ENV must be 'dev' or 'production', not {self.env!r}")

    def signing_key_paths(self) -> tuple[Path, ...]:
        if self.signing_key_files:
            return self.signing_key_files
        return tuple(self.seeds_dir / "keys" / f"{name}.dev-only.jwk.json" for name in SIGNING_KEY_NAMES)

    def id_token_key_path(self) -> Path:
        """The RS256 key of ID tokens (OpenID Connect Discovery requires RS256); not rotated."""
        return self.seeds_dir / "keys" / f"{ID_TOKEN_KEY_NAME}.dev-only.jwk.json"

    def issuer_for(self, bound_port: int) -> str:
        """The configured issuer, or one derived from the address actually bound."""
        if self.issuer is not None:
            return self.issuer
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{bound_port}"

    @classmethod
    def from_settings(cls, settings: Settings) -> StsConfig:
        """The STS binds its listen address and calls itself the suite's token issuer."""
        host, _, port = settings.listen_address("sts").rpartition(":")
        try:
            number = int(port)
        except ValueError:
            raise StsConfigError(f"STS address needs a numeric port: {settings.listen_address('sts')!r}") from None
        return cls(
            host=host.strip("[]"),
            port=number,
            issuer=settings.token_issuer,
            seeds_dir=settings.seeds_dir,
            var_dir=settings.var_dir,
            audience=settings.token_audience,
            env=settings.env,
            log_pseudonym_key=settings.log_pseudonym_key,
        )
