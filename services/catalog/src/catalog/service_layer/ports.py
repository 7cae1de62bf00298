"""What the catalog handlers need from storage, as small interfaces: the asyncpg repository in
`adapters/` implements them, and so does the in-memory fake the unit tests use."""

from __future__ import annotations

from typing import Any, Protocol, overload

from catalog.domain.model import PackageState
from pkgcontract.messages import Message, PackageDefined


class Packages(Protocol):
    async def get(self, package_id: str) -> PackageState | None: ...

    async def add_version(self, defined: PackageDefined) -> None: ...

    async def mark_retired(self, package_id: str) -> None: ...


class UnitOfWork(Protocol):
    @property
    def packages(self) -> Packages: ...

    @overload
    def emit(self, message: Message, /) -> None: ...

    @overload
    def emit(self, topic: str, key: str | bytes | None, message: Message) -> None: ...

    def emit(self, *args: Any, **kwargs: Any) -> None:
        """`emit(event)`: to its topic under its key (catalog.adapters.events.ROUTES);
        `emit(topic, key, rejection)`: a rejection, keyed by the package it concerns."""
