"""`samhandling status --gateway`: its URLs, the one-line causes of a failed TLS handshake, and
the refusal of unusable arguments (exit 2, one line)."""

from __future__ import annotations

import ssl

import pytest

from services.cli.gateway_status import GatewayUrlError, PublicUrl, describe_tls_failure, parse_public_url
from services.cli.main import main


@pytest.mark.parametrize(
    ("url", "grpc_target", "parsed", "authority"),
    [
        (
            "https://grpc.samhandling.example.no",
            True,
            PublicUrl("https", "grpc.samhandling.example.no", 443),
            "grpc.samhandling.example.no:443",
        ),
        ("http://127.0.0.1:50050", True, PublicUrl("http", "127.0.0.1", 50050), "127.0.0.1:50050"),
        (
            "https://samhandling.example.no/",
            False,
            PublicUrl("https", "samhandling.example.no", 443),
            "samhandling.example.no:443",
        ),
        (
            "https://example.no/samhandling/",
            False,
            PublicUrl("https", "example.no", 443, "/samhandling"),
            "example.no:443",
        ),
        ("http://[::1]:8080", False, PublicUrl("http", "::1", 8080), "[::1]:8080"),
    ],
)
def test_public_urls(url: str, grpc_target: bool, parsed: PublicUrl, authority: str) -> None:
    assert parse_public_url(url, grpc_target=grpc_target) == parsed
    assert parsed.authority == authority


def test_a_json_api_url_under_a_prefix_keeps_it() -> None:
    url = parse_public_url("https://example.no/samhandling", grpc_target=False)
    assert url.url("/healthz/ready") == "https://example.no:443/samhandling/healthz/ready"


@pytest.mark.parametrize(
    ("url", "grpc_target", "message"),
    [
        ("grpc.example.no:443", True, "the URL must be http://host[:port] or https://host[:port]"),
        ("ftp://example.no", True, "the URL must be http://host[:port] or https://host[:port]"),
        ("https://", True, "the URL must be http://host[:port] or https://host[:port]"),
        ("https://example.no:99999", True, "not a URL"),
        ("https://example.no/api", True, "a gRPC URL has no path"),
        ("https://user:pw@example.no", False, "the URL may hold no user, query or fragment"),
        ("https://example.no/?a=1", False, "the URL may hold no user, query or fragment"),
    ],
)
def test_urls_that_name_no_gateway_are_refused(url: str, grpc_target: bool, message: str) -> None:
    with pytest.raises(GatewayUrlError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        parse_public_url(url, grpc_target=grpc_target)


def verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    error.verify_code, error.verify_message = code, message
    return error


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            verify_error(20, "unable to get local issuer certificate"),
            "TLS: the certificate is not issued by a trusted CA (unknown CA: unable to get local issuer certificate); give its CA with --ca FILE",
        ),
        (
            verify_error(19, "self-signed certificate in certificate chain"),
            "TLS: the certificate is not issued by a trusted CA (unknown CA: self-signed certificate in certificate chain); give its CA with --ca FILE",
        ),
        (
            verify_error(62, "Hostname mismatch, certificate is not valid for 'a.example.no'."),
            "TLS: the certificate does not name a.example.no (name mismatch: Hostname mismatch, certificate is not valid for 'a.example.no'.)",
        ),
        (
            verify_error(10, "certificate has expired"),
            "TLS: the certificate is not valid now (certificate has expired)",
        ),
        (
            verify_error(26, "unsuitable certificate purpose"),
            "TLS: the certificate was refused (unsuitable certificate purpose)",
        ),
    ],
)
def test_each_tls_failure_names_its_cause(error: ssl.SSLError, line: str) -> None:
    assert describe_tls_failure(error, "a.example.no") == line


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--gateway", "grpc.example.no:443"],
            "samhandling: the URL must be http://host[:port] or https://host[:port], not 'grpc.example.no:443'",
        ),
        (
            ["--gateway", "https://grpc.example.no", "--ca", "/nonexistent/ca.pem"],
            "samhandling: --ca /nonexistent/ca.pem: no such file",
        ),
        (
            ["--gateway", "https://grpc.example.no", "--timeout", "0"],
            "samhandling: --timeout must be a positive number of seconds, not 0",
        ),
        (["--http", "https://samhandling.example.no"], "samhandling: --http, --ca and --timeout go with --gateway URL"),
        (["--ca", "ca.pem"], "samhandling: --http, --ca and --timeout go with --gateway URL"),
    ],
)
def test_unusable_arguments_are_one_line_and_exit_2(
    args: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", *args]) == 2
    captured = capsys.readouterr()
    assert captured.err == line + "\n" and captured.out == ""


def test_a_ca_file_that_holds_no_certificate_is_one_line_and_exit_2(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    assert main(["status", "--gateway", "https://grpc.example.no", "--ca", str(garbage)]) == 2
    captured = capsys.readouterr()
    assert (
        captured.err.startswith(f"samhandling: cannot read the CA file {garbage}: ") and captured.err.count("\n") == 1
    )
    assert "Traceback" not in captured.err and captured.out == ""
