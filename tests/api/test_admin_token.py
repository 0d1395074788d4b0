"""The admin token: shown only when `serve` generated it, and never a weak one; the webhook
secret keys kept beside it, never shown.

Each start is the real `refunds serve` on the tests' database (no demo data), stopped with
SIGTERM once it answers."""

from __future__ import annotations

import secrets
import signal
import subprocess
from pathlib import Path

import pytest

from api.app import create_app
from api.config import ADMIN_TOKEN_MIN_LENGTH, ConfigurationError, Settings
from db.secret_box import SecretBox
from tests.api.test_cli import REFUNDS, _env, _wait_until_healthy
from tests.support import free_port


def _serve_once(database_url: str, data_dir: Path, **env: str) -> str:
    """Start `refunds serve`, wait until it answers, stop it; returns what it printed."""
    port = free_port()
    process = subprocess.Popen(
        [*REFUNDS, "serve", "--port", str(port), "--no-demo", "--log-level", "warning"],
        env=_env(DATABASE_URL=database_url, REFUNDS_DATA_DIR=str(data_dir), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output.decode()
    return output.decode()


def test_a_token_from_the_environment_is_never_printed(database_url: str, tmp_path: Path) -> None:
    # given an operator's token in the environment
    token = "adm_" + secrets.token_urlsafe(32)
    # when serve starts with it
    output = _serve_once(database_url, tmp_path, REFUNDS_ADMIN_TOKEN=token)
    # then the banner says where it came from, not what it is
    assert token not in output
    assert token[4:12] not in output
    assert "Admin token      from REFUNDS_ADMIN_TOKEN" in output
    assert not (tmp_path / "admin_token").exists()


def test_a_generated_token_is_printed_on_the_start_that_made_it_only(
    database_url: str, tmp_path: Path
) -> None:
    # given no token in the environment: the first start generates one into the data dir
    first = _serve_once(database_url, tmp_path)
    token = (tmp_path / "admin_token").read_text().strip()
    assert len(token) >= ADMIN_TOKEN_MIN_LENGTH
    assert token in first
    # when serve starts again on the same data dir
    second = _serve_once(database_url, tmp_path)
    # then it reuses the token without printing it, and says where it is kept
    assert (tmp_path / "admin_token").read_text().strip() == token
    assert token not in second
    assert f"kept in {tmp_path / 'admin_token'}" in second


@pytest.mark.parametrize("where", ["environment", "data dir file"])
def test_serve_refuses_a_short_admin_token_with_one_clear_line(
    database_url: str, tmp_path: Path, where: str
) -> None:
    # given a token of 31 characters
    weak = "a" * (ADMIN_TOKEN_MIN_LENGTH - 1)
    env = {"REFUNDS_ADMIN_TOKEN": weak} if where == "environment" else {}
    if where == "data dir file":
        (tmp_path / "admin_token").write_text(weak + "\n")
    # when serve starts with it
    result = subprocess.run(
        [*REFUNDS, "serve", "--port", str(free_port()), "--no-demo"],
        env=_env(DATABASE_URL=database_url, REFUNDS_DATA_DIR=str(tmp_path), **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then it exits at once, non-zero, with one line naming the rule and no traceback
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "admin token" in result.stderr
    assert f"at least {ADMIN_TOKEN_MIN_LENGTH}" in result.stderr
    assert weak not in result.stderr
    assert "Traceback" not in result.stderr


def test_create_app_refuses_a_short_admin_token(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the app factory run by another server, with a weak token in the environment
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REFUNDS_ADMIN_TOKEN", "adm_short")
    # then it refuses to build the app
    with pytest.raises(ConfigurationError, match=f"at least {ADMIN_TOKEN_MIN_LENGTH}"):
        create_app()
    # and so does a Settings built in code
    with pytest.raises(ConfigurationError):
        Settings(
            database_url=database_url,
            data_dir=tmp_path,
            admin_token="adm_short",
            gateway_delay_scale=0,
            refund_window_days=180,
        )


def test_serve_keeps_its_webhook_secret_keys_in_the_data_dir_and_never_prints_them(
    database_url: str, tmp_path: Path
) -> None:
    # given no REFUNDS_WEBHOOK_SECRET_KEYS: the first start makes a key, kept for the owner only
    first = _serve_once(database_url, tmp_path)
    kept = tmp_path / "webhook_secret_keys"
    keys = kept.read_text().strip()
    assert len(SecretBox.parse(keys).keys[0][1]) == 32
    assert kept.stat().st_mode & 0o777 == 0o600
    assert f"Webhook keys     generated; kept in {kept}" in first
    # when serve starts again on the same data dir, it seals with the same key
    second = _serve_once(database_url, tmp_path)
    assert kept.read_text().strip() == keys
    assert f"Webhook keys     kept in {kept}" in second
    assert keys.split(":")[1] not in first + second
