"""API key format, hashing and verification.

A key looks like ``rl_<32 base62 chars><6-char checksum>``. The prefix makes a leaked key
recognisable to secret scanners; the checksum lets us reject typos and garbage without a database
round trip. Only an HMAC of the key (keyed with a server-side pepper) is stored, so a stolen
catalog does not yield usable keys, and comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib

KEY_PREFIX = "rl_"
_ALPHABET = string.digits + string.ascii_letters
_BODY_LEN = 32
_CHECK_LEN = 6
KEY_LENGTH = len(KEY_PREFIX) + _BODY_LEN + _CHECK_LEN


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECK_LEN)


def generate_key() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LEN))
    return f"{KEY_PREFIX}{body}{_checksum(body)}"


def looks_valid(key: str) -> bool:
    """Format and checksum check: cheap, no database, no timing secret involved."""
    if len(key) != KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return False
    body = key[len(KEY_PREFIX) : len(KEY_PREFIX) + _BODY_LEN]
    check = key[len(KEY_PREFIX) + _BODY_LEN :]
    if any(char not in _ALPHABET for char in body):
        return False
    return hmac.compare_digest(check, _checksum(body))


def display_prefix(key: str) -> str:
    """The part of a key safe to show in listings (identifies it, cannot be used)."""
    return key[: len(KEY_PREFIX) + 6]


def hash_key(key: str, pepper: bytes) -> str:
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def tokens_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
