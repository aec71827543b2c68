"""Password hashes for board accounts: stdlib scrypt, in a self-describing text form.

Why scrypt from `hashlib` and not argon2-cffi: scrypt is memory-hard as argon2 is (a GPU or ASIC
guessing attack needs 16 MiB per guess at the parameters below), it ships with Python's OpenSSL,
and so the hub needs no compiled extra on an office machine that installs from a local mirror. The
parameters are stored in each hash, so they can be raised later without invalidating old ones.

Form: `scrypt$<N>$<r>$<p>$<salt, base64>$<key, base64>` (N = 2**14, r = 8, p = 1, 16-byte salt,
32-byte key): about 50 ms and 16 MiB per check, which also slows a password-guessing client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MAX_N = 2**20  # a hash in the config asking for more is refused: it would cost a check 1 GiB


class PasswordHashError(ValueError):
    """A stored hash that is not in the form `scrypt$N$r$p$salt$key`."""


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, n, r, p, KEY_BYTES)
    return "$".join(("scrypt", str(n), str(r), str(p), _b64(salt), _b64(key)))


def parse_hash(text: str) -> tuple[int, int, int, bytes, bytes]:
    """(N, r, p, salt, key) of a stored hash, or PasswordHashError saying what is wrong (not the hash)."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PasswordHashError("not a password hash of the form scrypt$N$r$p$salt$key (see venue-hub passwd)")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, key = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        raise PasswordHashError("a password hash whose numbers or base64 do not parse") from None
    if n < 2**10 or n > MAX_N or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise PasswordHashError("a password hash with scrypt parameters out of range (N a power of 2 in 2^10–2^20)")
    if len(salt) < 8 or not 16 <= len(key) <= 64:
        raise PasswordHashError("a password hash with too short a salt or key")
    return n, r, p, salt, key


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored` (constant time in the key comparison)."""
    try:
        n, r, p, salt, key = parse_hash(stored)
    except PasswordHashError:
        return False
    return hmac.compare_digest(_derive(password, salt, n, r, p, len(key)), key)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=128 * r * (n + p + 2) + 1024 * 1024
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
