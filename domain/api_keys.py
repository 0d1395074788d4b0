"""API keys: random, shown once, stored only as a SHA-256 hash.

A key carries 256 random bits, so a fast hash is the right tool (as for GitHub tokens): a slow
password hash would only add latency to every request without adding safety."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "rk_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The part of a key that may be shown to identify it (like Stripe's `sk_live_…4242`)."""
    return key[: len(KEY_PREFIX) + 6]
