"""TLS between the gateway and the backends, from files named in the settings.

Off by default: on loopback in development every hop is plaintext. With
`SAMHANDLING_TLS_CERT_FILE`/`_KEY_FILE` a backend serves TLS; with
`SAMHANDLING_TLS_CLIENT_AUTH=require` it also demands a client certificate signed by
`SAMHANDLING_TLS_CA_FILE` (mTLS). The gateway trusts `SAMHANDLING_TLS_CA_FILE` for the
backends and, when it has a certificate of its own, presents it (mTLS). The gateway's own
listening port is not affected: the public door is terminated by the ingress.

The files are read once, when a server or channel is built; a renewed certificate takes a
restart (a rolling one, with replicas)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from .settings import Settings, SettingsError


@dataclass(frozen=True)
class TlsFiles:
    """Which PEM files this process uses; all None: plaintext."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    require_client_cert: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> TlsFiles:
        return cls(settings.tls_ca_file, settings.tls_cert_file, settings.tls_key_file, settings.tls_client_auth)

    @property
    def client_enabled(self) -> bool:
        """A client uses TLS when it has a CA to verify its peers with."""
        return self.ca_file is not None

    @property
    def server_enabled(self) -> bool:
        """A server uses TLS when it has a certificate to present."""
        return self.cert_file is not None

    def server_credentials(self) -> grpc.ServerCredentials | None:
        """None: serve plaintext. Refuses half a configuration rather than serve something weaker
        than asked for (a key without a certificate, client auth without a CA)."""
        if (self.cert_file is None) != (self.key_file is None):
            raise SettingsError("SAMHANDLING_TLS_CERT_FILE and SAMHANDLING_TLS_KEY_FILE go together")
        if self.require_client_cert and (self.ca_file is None or self.cert_file is None):
            raise SettingsError(
                "SAMHANDLING_TLS_CLIENT_AUTH=require needs SAMHANDLING_TLS_CA_FILE, _CERT_FILE and _KEY_FILE"
            )
        if self.cert_file is None or self.key_file is None:
            return None
        return grpc.ssl_server_credentials(
            [(_read(self.key_file), _read(self.cert_file))],
            root_certificates=_read(self.ca_file) if self.require_client_cert and self.ca_file else None,
            require_client_auth=self.require_client_cert,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials | None:
        """None: plaintext. With a CA the peer must prove a name in its certificate that
        matches the target's host (an IP target needs an IP subjectAltName); with a
        certificate of our own we present it to a server that asks (mTLS)."""
        if (self.cert_file is None) != (self.key_file is None):
            raise SettingsError("SAMHANDLING_TLS_CERT_FILE and SAMHANDLING_TLS_KEY_FILE go together")
        if self.ca_file is None:
            return None
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_file),
            private_key=_read(self.key_file) if self.key_file else None,
            certificate_chain=_read(self.cert_file) if self.cert_file else None,
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read TLS file {path}: {exc.strerror}") from None
