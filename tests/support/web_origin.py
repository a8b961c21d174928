"""The web service's internal load balancer as the cache publisher meets it, played on 127.0.0.1.

The publisher's template gives it the load balancer's DNS name (ORIGIN_URL, through the web stack's output);
the stand-in's `address` (host:port) is what that name resolves to here. It serves one route per behaviour
the publisher must handle, and records what each request asked for: its path, its Host header and, over
TLS, the name the client asked for in its handshake (SNI), also when the client then refuses the certificate.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.servers import QuietHandler, http_server

Answer = tuple[int, dict[str, str], bytes]
PAGES: dict[str, Answer] = {
    "/news/today": (
        200,
        {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "max-age=60"},
        b"<h1>Today</h1>",
    ),
    "/": (200, {"Content-Type": "text/html"}, b"<h1>Home</h1>"),
    "/gone": (410, {}, b""),
    "/busy": (503, {}, b"try later"),
    "/slow-down": (429, {"Retry-After": "1"}, b""),
    "/moved": (301, {"Location": "/news/today"}, b""),
    "/private": (403, {}, b""),
}
NOT_FOUND: Answer = (404, {"Content-Type": "text/plain"}, b"not found")


@dataclass(frozen=True)
class Received:
    path: str  # with its query string
    host: str


@dataclass
class LocalOrigin:
    address: str  # host:port: what the load balancer's DNS name stands for here
    https: bool
    received: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # SNI of every TLS handshake, refused ones too

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.address}"

    def paths(self) -> list[str]:
        return [request.path for request in self.received]


@contextmanager
def web_origin(
    routes: dict[str, Answer] | None = None,
    *,
    default: Answer = NOT_FOUND,
    certificate: tuple[Path, Path] | None = None,
) -> Iterator[LocalOrigin]:
    """An origin answering `routes` (PAGES unless given; query strings ignored, as a web app ignores parameters it
    does not know) and `default` for any other path; over HTTPS with `certificate` (chain file, key file)."""
    answers = PAGES if routes is None else routes
    tls = None
    server_names: list[str | None] = []
    if certificate is not None:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*certificate)
        tls.sni_callback = lambda _socket, name, _context: server_names.append(name)
    received: list[Received] = []

    class Origin(QuietHandler):
        def do_GET(self) -> None:
            received.append(Received(self.path, self.headers.get("Host", "")))
            self.reply(*answers.get(self.path.split("?", 1)[0], default))

    with http_server(Origin, tls=tls) as address:
        yield LocalOrigin(address, tls is not None, received, server_names)


# --- a certificate for a name, signed by a CA of the test's own ------------------------------------------------


def _usage(**granted: bool) -> Any:
    from cryptography import x509

    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement")
    names += ("key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{name: granted.get(name, False) for name in names})


def certificate_for(name: str, folder: Path) -> tuple[Path, tuple[Path, Path]]:
    """A CA and a server certificate for `name` it signed, as PEM files in `folder` (the load balancer's
    certificate stands in): (CA file, (chain file, key file))."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def subject(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    authority = subject("test CA")
    ca = (
        x509.CertificateBuilder(authority, authority, ca_key.public_key(), x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder(
            issuer_name=ca.subject,
            subject_name=subject(name),
            public_key=server_key.public_key(),
            serial_number=x509.random_serial_number(),
        )
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, chain_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, (chain_file, key_file)
