"""The ETL verifies the warehouse's certificate when the host's CA is published to SSM.

Settings: DW_CA_PARAM makes verify-full the default, and a CA with a non-verifying mode or a
verifying mode without a CA is refused (no silent downgrade). Connection options: keepalives
always, sslrootcert with the CA file. The CA is read with boto3 from moto's in-process mock
(no emulator server), once per cold start, and written atomically to a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from etl import db
from etl.config import ConfigError, Settings
from moto import mock_aws

pytestmark = pytest.mark.unit

HOST_ENV = {"RAW_BUCKET": "raw", "DW_HOST": "10.0.1.5", "DW_NAME": "analytics", "DW_USER": "etl",
            "DW_PASSWORD_PARAM": "arn:aws:ssm:eu-central-1:123456789012:parameter/cs/dw/etl-password"}
CA_PARAM = "/clickstream-dev/dw/ca-certificate"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUfake\n-----END CERTIFICATE-----\n"


def test_a_ca_makes_verify_full_the_default() -> None:
    s = Settings.from_env({**HOST_ENV, "DW_CA_PARAM": CA_PARAM})
    assert (s.dw_sslmode, s.dw_ca_param) == ("verify-full", CA_PARAM)
    assert Settings.from_env({**HOST_ENV, "DW_CA_PARAM": CA_PARAM, "DW_SSLMODE": "verify-ca"}).dw_sslmode == "verify-ca"


def test_without_a_ca_the_mode_is_unchanged() -> None:
    assert Settings.from_env(HOST_ENV).dw_sslmode == "prefer"
    assert Settings.from_env({**HOST_ENV, "DW_SSLMODE": "require"}).dw_sslmode == "require"
    assert Settings.from_env(HOST_ENV).dw_ca_param is None


@pytest.mark.parametrize(("env", "message"), [
    ({"DW_SSLMODE": "verify-full"}, "DW_SSLMODE=verify-full verifies the warehouse's certificate and needs its CA"),
    ({"DW_SSLMODE": "verify-ca"}, "set DW_CA_PARAM"),
    ({"DW_CA_PARAM": CA_PARAM, "DW_SSLMODE": "require"}, "DW_SSLMODE=require would not verify the server"),
    ({"DW_CA_PARAM": CA_PARAM, "DW_SSLMODE": "disable"}, "use verify-full"),
    ({"DW_SSLMODE": "verify_full"}, "DW_SSLMODE must be one of"),
], ids=["verify-full-no-ca", "verify-ca-no-ca", "ca-with-require", "ca-with-disable", "typo"])
def test_inconsistent_tls_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match="DW_") as err:
        Settings.from_env({**HOST_ENV, **env})
    assert message in str(err.value)


def test_a_dsn_carries_its_own_sslmode() -> None:
    s = Settings.from_env({"RAW_BUCKET": "raw", "DW_DSN": "postgresql://etl@localhost/dw?sslmode=verify-full"})
    assert db.connect_kwargs(s).get("sslmode") is None  # the DSN's own value stands


def test_every_connection_has_keepalives_and_the_ca_when_given(tmp_path: Path) -> None:
    plain = db.connect_kwargs(Settings.from_env(HOST_ENV))
    assert {k: plain[k] for k in ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count")} == {
        "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
    assert plain["sslmode"] == "prefer" and "sslrootcert" not in plain
    ca = tmp_path / "ca.pem"
    verified = db.connect_kwargs(Settings.from_env({**HOST_ENV, "DW_CA_PARAM": CA_PARAM}), ca)
    assert (verified["sslmode"], verified["sslrootcert"]) == ("verify-full", str(ca))
    assert verified["keepalives"] == 1


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """moto's in-process SSM: no endpoint override, fake credentials, an empty CA cache."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    fake = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "eu-central-1"}
    for k, v in fake.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(db, "_CA_CACHE", {})
    with mock_aws():
        yield boto3.client("ssm")


def test_ca_is_read_once_and_written_to_a_file(ssm, tmp_path: Path) -> None:
    ssm.put_parameter(Name=CA_PARAM, Type="String", Value=PEM)
    path = db.ca_file(CA_PARAM, tmp_path)
    assert path.parent == tmp_path and path.read_text() == PEM
    ssm.delete_parameter(Name=CA_PARAM)  # a warm invocation must not call SSM again ...
    path.unlink()                         # ... and must rewrite a file /tmp has lost
    assert db.ca_file(CA_PARAM, tmp_path).read_text() == PEM
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_a_missing_or_malformed_ca_parameter_says_which(ssm, tmp_path: Path) -> None:
    with pytest.raises(db.WarehouseUnavailable, match=f"SSM parameter {CA_PARAM} \\(DW_CA_PARAM\\)"):
        db.ca_file(CA_PARAM, tmp_path)
    ssm.put_parameter(Name=CA_PARAM, Type="String", Value="not a certificate")
    with pytest.raises(db.WarehouseUnavailable, match="does not hold a PEM certificate"):
        db.ca_file(CA_PARAM, tmp_path)
