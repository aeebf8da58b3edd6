from __future__ import annotations

from ragline_gateway.api.documents import safe_source_name
from ragline_gateway.domain import api_keys


def test_generated_keys_have_prefix_checksum_and_are_unique() -> None:
    keys = {api_keys.generate_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert key.startswith("rl_") and len(key) == api_keys.KEY_LENGTH
        assert api_keys.looks_valid(key)


def test_checksum_rejects_typos_without_a_lookup() -> None:
    key = api_keys.generate_key()
    flipped = key[:10] + ("a" if key[10] != "a" else "b") + key[11:]
    assert not api_keys.looks_valid(flipped)
    assert not api_keys.looks_valid(key[:-1])
    assert not api_keys.looks_valid("xx_" + key[3:])
    assert not api_keys.looks_valid(key[:20] + "!" + key[21:])


def test_hash_is_keyed_by_the_pepper() -> None:
    key = api_keys.generate_key()
    assert api_keys.hash_key(key, b"one") != api_keys.hash_key(key, b"two")
    assert api_keys.hash_key(key, b"one") == api_keys.hash_key(key, b"one")
    assert key not in api_keys.hash_key(key, b"one")
    assert api_keys.display_prefix(key) == key[:9]


def test_source_names_cannot_traverse_paths() -> None:
    assert safe_source_name("../../etc/passwd") == "passwd"
    assert safe_source_name("..\\..\\windows\\win.ini") == "win.ini"
    assert safe_source_name("a\x00b.txt") == "a_b.txt"
    assert safe_source_name("") == "upload"
    assert safe_source_name("..") == "upload"
    assert len(safe_source_name("x" * 1000 + ".txt")) == 255
