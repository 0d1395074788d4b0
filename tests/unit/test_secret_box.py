"""Webhook secrets sealed at rest (db/secret_box.py): what is stored is not the secret, opens
only for the endpoint it was sealed for, opens under any listed key while the first seals,
and keys that are missing or malformed refuse startup."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest

from api.cli import main
from api.config import ConfigurationError, Settings
from db.secret_box import SecretBox, SecretKeysError, UnreadableSecret, new_key_entry
from processor.config import WebhookSettings

SECRET = "whsec_" + base64.b64encode(b"s" * 24).decode()


def test_a_sealed_secret_is_not_the_secret_and_opens_for_its_endpoint_only() -> None:
    box = SecretBox.parse(new_key_entry())
    merchant, endpoint = uuid4(), uuid4()
    stored = box.seal(SECRET, merchant, endpoint)
    assert stored.startswith(f"v1:{box.keys[0][0]}:")
    assert SECRET.removeprefix("whsec_") not in stored
    assert box.seal(SECRET, merchant, endpoint) != stored  # a fresh nonce each time
    assert box.open(stored, merchant, endpoint) == SECRET
    # copied onto another endpoint's row, or another merchant's, it does not open
    with pytest.raises(UnreadableSecret):
        box.open(stored, merchant, uuid4())
    with pytest.raises(UnreadableSecret):
        box.open(stored, uuid4(), endpoint)


def test_the_first_key_seals_and_every_listed_key_opens() -> None:
    old_entry, new_entry = new_key_entry(), new_key_entry()
    merchant, endpoint = uuid4(), uuid4()
    under_old = SecretBox.parse(old_entry).seal(SECRET, merchant, endpoint)
    both = SecretBox.parse(f"{new_entry},{old_entry}")
    assert both.open(under_old, merchant, endpoint) == SECRET
    under_new = both.seal(SECRET, merchant, endpoint)
    assert under_new.startswith(f"v1:{new_entry.split(':')[0]}:")
    # once the old key is dropped, what it sealed no longer opens
    with pytest.raises(UnreadableSecret, match="not in REFUNDS_WEBHOOK_SECRET_KEYS"):
        SecretBox.parse(new_entry).open(under_old, merchant, endpoint)


@pytest.mark.parametrize(
    "damage",
    [
        lambda stored: stored.rpartition(":")[0],  # no ciphertext part
        lambda stored: stored[: stored.rindex(":") + 9],  # cut to 9 characters: not base64
        lambda stored: stored[: stored.rindex(":") + 8],  # 6 bytes: shorter than a nonce
        lambda stored: stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1],  # altered
    ],
)
def test_a_damaged_stored_value_is_unreadable_not_an_error_of_another_kind(
    damage: Callable[[str], str],
) -> None:
    # the dispatcher skips an unreadable row; any other error would fail its whole claim
    box = SecretBox.parse(new_key_entry())
    merchant, endpoint = uuid4(), uuid4()
    with pytest.raises(UnreadableSecret, match="does not decrypt it here"):
        box.open(damage(box.seal(SECRET, merchant, endpoint)), merchant, endpoint)


def test_a_secret_stored_before_encryption_is_read_as_it_is() -> None:
    assert SecretBox.parse(new_key_entry()).open(SECRET, uuid4(), uuid4()) == SECRET


@pytest.mark.parametrize(
    "keys",
    [
        "",
        "no-key-here",
        "k1:not base64!",
        f"k1:{base64.b64encode(b'short').decode()}",
        "bad id:" + base64.b64encode(b"k" * 32).decode(),
        ",".join([f"k1:{base64.b64encode(b'k' * 32).decode()}"] * 2),
    ],
)
def test_malformed_keys_are_refused_with_what_is_wrong(keys: str) -> None:
    with pytest.raises(SecretKeysError, match="REFUNDS_WEBHOOK_SECRET_KEYS"):
        SecretBox.parse(keys)
    with pytest.raises(ConfigurationError, match="REFUNDS_WEBHOOK_SECRET_KEYS"):
        Settings(
            database_url=None,
            data_dir=Path("."),
            admin_token=None,
            gateway_delay_scale=0,
            refund_window_days=180,
            webhooks=WebhookSettings(secret_keys=keys or " "),
        )


def test_the_service_refuses_to_start_with_malformed_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFUNDS_WEBHOOK_SECRET_KEYS", "k1:tooshort")
    with pytest.raises(SystemExit, match="REFUNDS_WEBHOOK_SECRET_KEYS: key 'k1' is not 32"):
        main(["migrate"])


def test_without_keys_a_sender_cannot_be_built() -> None:
    with pytest.raises(SecretKeysError, match="no webhook secret keys"):
        WebhookSettings(secret_keys=None).box()


def test_new_webhook_key_prints_an_entry_that_parses(capsys: pytest.CaptureFixture[str]) -> None:
    main(["new-webhook-key"])
    entry = capsys.readouterr().out.strip()
    assert len(SecretBox.parse(entry).keys[0][1]) == 32
