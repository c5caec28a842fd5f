"""Ports: the narrow capabilities the use cases need from the outside world.

Each is a `typing.Protocol` typed with domain and application types only.
Adapters (and the in-memory fakes) subclass them explicitly so that a missing
method is caught by mypy rather than at run time.
"""
