"""The actor of the work in progress, in a context variable (the `ActorContext` port).

The HTTP edge binds it for each request (entrypoints/http/audit_context.py) from
the verified bearer token and the client address; asyncio copies context into
every task started inside, and the binding ends with the request. Outside a
binding (the CLI, the worker) the actor is nobody at no address.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from application.ports.audit import NOBODY, Actor, ActorContext

_CURRENT: ContextVar[Actor] = ContextVar("eventapi_actor", default=NOBODY)


class ContextVarActors(ActorContext):
    def current(self) -> Actor:
        return _CURRENT.get()

    @contextmanager
    def acting(self, actor: Actor) -> Iterator[None]:
        """`actor` is the actor until the block ends (also when it raises)."""
        token = _CURRENT.set(actor)
        try:
            yield
        finally:
            _CURRENT.reset(token)


#: One per process is enough: the variable, not the object, holds the state.
ACTORS = ContextVarActors()
