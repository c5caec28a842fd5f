"""A set of passwords too common to allow."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from importlib import resources

from application.ports.security import CommonPasswords


def _normalised(password: str) -> str:
    """What makes no difference to a guesser: case, compatibility forms (fullwidth
    letters) and whitespace around or doubled between the words."""
    return " ".join(unicodedata.normalize("NFKC", password).split()).casefold()


class CommonPasswordSet(CommonPasswords):
    """Compared in a normalised form: " Password1234" is as guessable as "password1234"."""

    def __init__(self, passwords: Iterable[str]) -> None:
        self._passwords = frozenset(filter(None, map(_normalised, passwords)))

    def __contains__(self, password: object) -> bool:
        return isinstance(password, str) and _normalised(password) in self._passwords

    def __len__(self) -> int:
        return len(self._passwords)

    @classmethod
    def shipped(cls) -> CommonPasswordSet:
        """The list that ships with eventapi (see adapters/data/README.md)."""
        text = resources.files("adapters.data").joinpath("common-passwords.txt").read_text("utf-8")
        return cls(text.splitlines())
