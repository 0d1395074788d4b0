import re

from domain.api_keys import KEY_PREFIX, display_prefix, hash_api_key, new_api_key


def test_a_new_key_is_prefixed_and_url_safe() -> None:
    key = new_api_key()
    assert key.startswith("rk_")
    assert re.fullmatch(r"rk_[A-Za-z0-9_-]+", key)


def test_a_new_key_carries_256_random_bits() -> None:
    # 32 bytes in URL-safe base64 without padding take 43 characters
    assert len(new_api_key()) == len(KEY_PREFIX) + 43


def test_two_new_keys_differ() -> None:
    assert len({new_api_key() for _ in range(100)}) == 100


def test_a_keys_hash_is_a_sha256_hex_digest_that_does_not_contain_the_key() -> None:
    key = new_api_key()
    digest = hash_api_key(key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert key not in digest


def test_the_same_key_always_hashes_the_same() -> None:
    assert hash_api_key("rk_example") == hash_api_key("rk_example")
    assert (
        hash_api_key("rk_example")
        == "de0b95505be786f80c71e2fa6168ba3ca61ee58611c53b07ef4f48efcfbc88d3"
    )


def test_different_keys_hash_differently() -> None:
    assert hash_api_key("rk_example") != hash_api_key("rk_examplf")


def test_the_displayed_prefix_identifies_a_key_without_giving_it_away() -> None:
    key = new_api_key()
    prefix = display_prefix(key)
    assert key.startswith(prefix)
    assert prefix.startswith("rk_")
    assert len(prefix) == len("rk_") + 6
