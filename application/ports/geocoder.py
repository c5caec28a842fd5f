"""Turning an address into coordinates, through some third party."""

from __future__ import annotations

from typing import Protocol

from domain.values import Coordinates


class Geocoder(Protocol):
    async def locate(self, address: str) -> Coordinates | None:
        """The coordinates of an address; None when unknown or the service failed."""
        ...
