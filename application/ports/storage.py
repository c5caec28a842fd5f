"""What a use case's caller may see of the storage behind the ports."""

from __future__ import annotations


class StorageUnavailable(Exception):
    """The database cannot be used right now, and trying again later may work: it is
    unreachable or dropped the connection, every pooled connection stayed busy for the
    whole pool timeout, or (SQLite) the file stayed locked or could not be opened.

    Not a rule of the domain and not the caller's fault: adapters raise it instead of
    their driver's errors, and each entry point says "try again later" its own way
    (HTTP 503 with Retry-After, one line and exit status 2 on the command line).
    `reason` is for operators' logs, never for clients.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
