"""A real PostgreSQL on 127.0.0.1 for the tests that need one (the web container's app, the app role set-up) and for
the web origin benchmark: the project's own server (tools/toolchain.py: the npm package `make setup` installs, at the
Aurora PostgreSQL version prod runs), never one from the system."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.assemblies import cache_root
from tests.support.servers import free_port
from tools import toolchain


class PostgresUnavailable(RuntimeError):
    """The server cannot run here (no binaries, initdb or start failed); the message says why."""


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    dbname: str
    user: str
    password: str
    tls: bool = False
    ca_file: str = ""  # with tls: the CA that signed the server's certificate (for 127.0.0.1 only)
    pid: int = 0  # the postmaster's; its backends are its children

    def env(self, **changes: str) -> dict[str, str]:
        """The variables ECS fills from the Aurora secret, pointing at this server."""
        values = {
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": self.dbname,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
        }
        if self.tls:  # as the app connects to Aurora: TLS, to the server named DB_HOST, signed by a CA it holds
            values |= {"DB_SSLMODE": "verify-full", "DB_SSLROOTCERT": self.ca_file}
        else:
            values["DB_SSLMODE"] = "disable"
        return {**values, **changes}

    def params(self) -> dict[str, str | int]:
        """psycopg.connect's arguments for the server's own user and database (no TLS)."""
        return {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
            "password": self.password,
        }


def unavailable(reason: str) -> NoReturn:
    """Skip the tests that need the server, with the reason; under CI (CI=true: .ci/run and GitHub Actions set
    it) fail instead, since a CI run without PostgreSQL has not tested what needs it."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def postgres_server(*, tls: bool = False) -> Iterator[Postgres]:
    """Start a server with password (SCRAM) auth and a database `app`; always stop it and remove its files.

    With `tls`, it serves TLS with a throwaway certificate for 127.0.0.1 signed by a throwaway CA
    (`Postgres.ca_file`), so clients connect with sslmode=verify-full as the app does to Aurora.
    Raises PostgresUnavailable when it cannot run here (the `postgres` fixture then skips, or fails under CI=true).
    """
    try:
        initdb, pg_ctl = str(toolchain.postgres_bin("initdb")), str(toolchain.postgres_bin("pg_ctl"))
    except toolchain.ToolchainError as error:
        raise PostgresUnavailable(str(error)) from None
    workdir = Path(tempfile.mkdtemp(prefix="web-app-pg-"))
    try:
        yield from _serve(workdir, initdb, pg_ctl, _unprivileged(), tls)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _unprivileged() -> list[str]:
    """The command prefix that runs initdb and the server as a user other than root, which they refuse to be.

    As root: in a user namespace of their own (util-linux's `unshare --user`), where they are an unmapped user
    (uid 65534) while the kernel still checks their file access as the caller's. So they need no system account and
    read the project's binaries wherever the clone is, whatever its folders' modes. Otherwise: nothing.
    """
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if not unshare:
        raise PostgresUnavailable("running as root without util-linux's unshare; PostgreSQL refuses to run as root")
    return [unshare, "--user", "--"]


PASSWORD = "local-test-password"
_INITDB_ARGS = ("-U", "app", "--auth=scram-sha-256", "-E", "UTF8")


def _initialized(initdb: str, run: Callable[..., subprocess.CompletedProcess[str]]) -> Path:
    """A cluster as initdb leaves it, made once per server binary and kept in the test cache: initdb costs
    about 0.8 s of CPU, four times a run here, a copy of its 40 MB a tenth of that. Each server starts from a
    copy of its own."""
    key = hashlib.sha256(f"{Path(initdb).resolve()}|{os.stat(initdb).st_mtime_ns}|{_INITDB_ARGS}".encode())
    template = cache_root() / "postgres" / key.hexdigest()[:20]
    if template.is_dir():
        return template
    template.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="initdb-", dir=template.parent))
    try:
        pwfile = building / "pw"
        pwfile.write_text(PASSWORD + "\n")
        init = run(initdb, "-D", str(building / "data"), *_INITDB_ARGS, f"--pwfile={pwfile}")
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
        try:
            (building / "data").rename(template)  # atomic: a worker that built the same one at once keeps its own
        except OSError:
            if not template.is_dir():
                raise
        return template
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _serve(workdir: Path, initdb: str, pg_ctl: str, as_user: list[str], tls: bool) -> Iterator[Postgres]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_user, *args], capture_output=True, text=True, check=False, timeout=60)

    data, port = workdir / "data", free_port()
    shutil.copytree(_initialized(initdb, run), data, symlinks=True)  # keeps the folder's 0700
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1"
    ca_file = ""
    if tls:
        ca_file, ssl_options = _certificates(workdir)
        options += " " + ssl_options
    start = run(pg_ctl, "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "-t", "30", "start")
    if start.returncode != 0:
        log = (workdir / "log").read_text() if (workdir / "log").exists() else start.stderr
        raise PostgresUnavailable(f"PostgreSQL did not start: {log.strip()[-300:]}")
    try:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=port, dbname="postgres", user="app", password=PASSWORD, autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE app")
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield Postgres(
            host="127.0.0.1", port=port, dbname="app", user="app", password=PASSWORD, tls=tls, ca_file=ca_file, pid=pid
        )
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")


def certificate_authority(name: str) -> tuple[Any, bytes]:
    """A throwaway CA: its private key and its certificate (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def server_certificate(ca_key: Any, ca_pem: bytes, *, ip: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """A server certificate for `ip` only (no DNS name) signed by the CA: (key PEM, certificate PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca = x509.load_pem_x509_certificate(ca_pem)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _certificates(workdir: Path) -> tuple[str, str]:
    """A CA and a server certificate it signed for 127.0.0.1; the CA file and the server options that use them."""
    ca_key, ca_pem = certificate_authority("Test database CA")
    key_pem, cert_pem = server_certificate(ca_key, ca_pem)
    ca, key, cert = workdir / "ca.crt", workdir / "server.key", workdir / "server.crt"
    ca.write_bytes(ca_pem)
    key.write_bytes(key_pem)
    cert.write_bytes(cert_pem)
    key.chmod(0o600)
    ca.chmod(0o644)
    return str(ca), f"-c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One server per test session (TLS off locally); skips with the reason when it cannot run here (fails under
    CI=true), e.g. no binaries: `make setup`."""
    with ExitStack() as stack:
        try:
            running = stack.enter_context(postgres_server())
        except PostgresUnavailable as error:
            unavailable(str(error))
        yield running
