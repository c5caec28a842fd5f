"""A set of passwords too common to allow."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from application.ports.security import CommonPasswords


class CommonPasswordSet(CommonPasswords):
    """Compared case-insensitively: "Password1234" is as guessable as "password1234"."""

    def __init__(self, passwords: Iterable[str]) -> None:
        self._passwords = frozenset(p.strip().casefold() for p in passwords if p.strip())

    def __contains__(self, password: object) -> bool:
        return isinstance(password, str) and password.casefold() in self._passwords

    def __len__(self) -> int:
        return len(self._passwords)

    @classmethod
    def shipped(cls) -> CommonPasswordSet:
        """The list that ships with eventapi (see adapters/data/README.md)."""
        text = resources.files("adapters.data").joinpath("common-passwords.txt").read_text("utf-8")
        return cls(text.splitlines())
