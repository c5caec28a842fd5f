"""`eventapi create-admin`: the first admin (or another), opened at the console.

An operator at the console is trusted to grant the admin role, so this calls
`SignUp.open_account` directly; the account obeys every other sign-up rule
(unique email, password policy, common-password list, welcome notification).
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from application.ports.queries import UserView
from application.use_cases.sign_up import SignUpCommand
from domain.users import Role
from entrypoints.commands import CommandError
from entrypoints.commands.database import require_schema
from entrypoints.container import Container


async def create_admin(
    container: Container, *, email: str, password: str, full_name: str
) -> UserView:
    await require_schema(container)
    command = SignUpCommand(email=email, password=password, full_name=full_name)
    return await container.sign_up().open_account(command, Role.ADMIN)


def read_password(stdin: TextIO | None = None) -> str:
    """Asked twice without echo at a terminal; otherwise the first line of stdin
    (`echo "$PASSWORD" | eventapi create-admin ...`), line ending removed."""
    stdin = sys.stdin if stdin is None else stdin
    if stdin.isatty():
        password = getpass.getpass("Password for the new admin: ")
        if getpass.getpass("Repeat it: ") != password:
            raise CommandError("the two passwords differ")
    else:
        password = stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise CommandError("no password given (use --password, or pass it on standard input)")
    return password
