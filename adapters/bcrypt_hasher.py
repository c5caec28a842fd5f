"""bcrypt password hashing, off the event loop, without bcrypt's 72-byte cut-off."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Sequence

import bcrypt

from application.ports.security import PasswordHasher


def pepper_id(pepper: bytes) -> str:
    return hashlib.sha256(b"pepper-id:" + pepper).hexdigest()[:8]


class BcryptHasher(PasswordHasher):
    """bcrypt over a keyed pre-hash of the password.

    bcrypt reads at most 72 bytes, so longer passwords would be cut silently.
    HMAC-SHA256 (keyed with a server-side pepper) turns any password into 44
    base64 bytes first, so every character counts; the key also stops the
    pre-hash from being a password-equivalent shortcut if hashes leak.

    Stored hashes name their pepper (`<pepper id>:<bcrypt hash>`), so the secret
    key can be rotated: hashes made with a previous pepper still verify, and
    `needs_rehash` tells the caller to store a fresh one at the next sign-in.
    """

    def __init__(
        self, pepper: bytes, rounds: int = 12, *, previous_peppers: Sequence[bytes] = ()
    ) -> None:
        if any(len(p) < 16 for p in (pepper, *previous_peppers)):
            raise ValueError("password peppers must be at least 16 bytes")
        self._current = pepper_id(pepper)
        self._peppers = {pepper_id(p): p for p in (*previous_peppers, pepper)}
        self._rounds = rounds
        self._dummy = bcrypt.hashpw(b"no such account", bcrypt.gensalt(rounds))

    async def hash(self, password: str) -> str:
        digest = self._prehash(password, self._peppers[self._current])
        hashed = await asyncio.to_thread(bcrypt.hashpw, digest, bcrypt.gensalt(self._rounds))
        return f"{self._current}:{hashed.decode('ascii')}"

    async def verify(self, password: str, password_hash: str | None) -> bool:
        kid, _, stored = (password_hash or "").rpartition(":")
        pepper = self._peppers.get(kid)
        known = pepper is not None and stored.startswith("$2")
        digest = self._prehash(password, pepper if pepper is not None else b"unknown")
        try:
            matches = await asyncio.to_thread(
                bcrypt.checkpw, digest, stored.encode("ascii") if known else self._dummy
            )
        except ValueError:  # not a bcrypt hash after all
            return False
        return matches and known

    def needs_rehash(self, password_hash: str) -> bool:
        kid, _, stored = password_hash.rpartition(":")
        return kid != self._current or not stored.startswith(f"$2b${self._rounds:02d}$")

    @staticmethod
    def _prehash(password: str, pepper: bytes) -> bytes:
        mac = hmac.new(pepper, password.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(mac)
