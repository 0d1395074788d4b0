"""Webhook signing secrets encrypted at rest (docs/webhook-secrets.md).

A `whsec_…` secret signs deliveries, so it cannot be hashed as API keys are; it is stored
encrypted with AES-256-GCM under a key the database never sees, with the endpoint's
(merchant_id, id) as associated data, so that a value copied onto another endpoint's row does
not decrypt. A stored value reads `v1:<key id>:<base64url of nonce and ciphertext>`.

The keys come from REFUNDS_WEBHOOK_SECRET_KEYS (or the data dir's `webhook_secret_keys` file,
api/cli.py): `id:base64key` pairs separated by commas, 32-byte keys. The first encrypts; every
one decrypts, so a new key goes first and an old one stays listed until no value uses it.
A value stored before encryption (a plain `whsec_…`) is read as it is."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class SecretKeysError(ValueError):
    """REFUNDS_WEBHOOK_SECRET_KEYS is missing or malformed; the message says how."""


class UnreadableSecret(Exception):
    """A stored secret that none of the configured keys decrypts for its endpoint."""


@dataclass(frozen=True, slots=True)
class SecretBox:
    keys: tuple[tuple[str, bytes], ...]  # (id, 32-byte key); the first encrypts

    @classmethod
    def parse(cls, text: str) -> SecretBox:
        keys = []
        for pair in (p.strip() for p in text.split(",")):
            key_id, _, encoded = pair.partition(":")
            if not KEY_ID.fullmatch(key_id):
                raise SecretKeysError(
                    "REFUNDS_WEBHOOK_SECRET_KEYS: each entry is id:base64key, the id 1-32 "
                    "letters, digits, - or _ (make one with `refunds new-webhook-key`)."
                )
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                key = b""
            if len(key) != 32:
                raise SecretKeysError(
                    f"REFUNDS_WEBHOOK_SECRET_KEYS: key {key_id!r} is not 32 bytes in base64."
                )
            keys.append((key_id, key))
        if len({key_id for key_id, _ in keys}) != len(keys):
            raise SecretKeysError("REFUNDS_WEBHOOK_SECRET_KEYS: a key id is listed twice.")
        return cls(tuple(keys))

    def sealed_prefix(self) -> str:
        """How a value sealed under the first key begins."""
        return f"{VERSION}:{self.keys[0][0]}:"

    def seal(self, secret: str, merchant_id: UUID, endpoint_id: UUID) -> str:
        key_id, key = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, secret.encode(), _bound_to(merchant_id, endpoint_id))
        return self.sealed_prefix() + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, merchant_id: UUID, endpoint_id: UUID) -> str:
        """The secret; UnreadableSecret for any value the listed keys do not open for this
        endpoint, a damaged one included (the dispatcher skips that row, not its whole claim)."""
        if not stored.startswith(f"{VERSION}:"):
            return stored  # stored before secrets were encrypted
        key_id, _, encoded = stored.removeprefix(f"{VERSION}:").partition(":")
        key = dict(self.keys).get(key_id)
        if key is None:
            raise UnreadableSecret(f"key {key_id!r} is not in REFUNDS_WEBHOOK_SECRET_KEYS")
        try:
            blob = base64.urlsafe_b64decode(encoded)
            plain: bytes = AESGCM(key).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _bound_to(merchant_id, endpoint_id)
            )
        except (ValueError, InvalidTag):  # ValueError: not base64 (binascii.Error), too short
            raise UnreadableSecret(f"key {key_id!r} does not decrypt it here") from None
        return plain.decode()


def new_key_entry() -> str:
    """One `id:base64key` entry with a fresh random key."""
    return f"k{secrets.token_hex(4)}:{base64.b64encode(os.urandom(32)).decode()}"


def _bound_to(merchant_id: UUID, endpoint_id: UUID) -> bytes:
    return merchant_id.bytes + endpoint_id.bytes
