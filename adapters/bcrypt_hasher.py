"""bcrypt password hashing, off the event loop, without bcrypt's 72-byte cut-off."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

import bcrypt

from application.ports.security import PasswordHasher


class BcryptHasher(PasswordHasher):
    """bcrypt over a keyed pre-hash of the password.

    bcrypt reads at most 72 bytes, so longer passwords would be cut silently.
    HMAC-SHA256 (keyed with a server-side pepper) turns any password into 44
    base64 bytes first, so every character counts; the key also stops the
    pre-hash from being a password-equivalent shortcut if hashes leak.
    """

    def __init__(self, pepper: bytes, rounds: int = 12) -> None:
        if len(pepper) < 16:
            raise ValueError("the password pepper must be at least 16 bytes")
        self._pepper = pepper
        self._rounds = rounds
        self._dummy = bcrypt.hashpw(b"no such account", bcrypt.gensalt(rounds))

    async def hash(self, password: str) -> str:
        digest = self._prehash(password)
        hashed = await asyncio.to_thread(bcrypt.hashpw, digest, bcrypt.gensalt(self._rounds))
        return hashed.decode("ascii")

    async def verify(self, password: str, password_hash: str | None) -> bool:
        digest = self._prehash(password)
        stored = self._dummy if password_hash is None else password_hash.encode("ascii")
        try:
            matches = await asyncio.to_thread(bcrypt.checkpw, digest, stored)
        except ValueError:  # not a bcrypt hash at all
            return False
        return matches and password_hash is not None

    def _prehash(self, password: str) -> bytes:
        mac = hmac.new(self._pepper, password.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(mac)
