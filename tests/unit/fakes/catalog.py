"""In-memory stand-ins for the catalog's repository and unit of work
(catalog.service_layer.ports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalog.adapters.events import ROUTES
from catalog.domain.model import PackageState
from pkgcontract.messages import Message, PackageDefined


@dataclass
class FakePackages:
    versions: dict[str, list[PackageDefined]] = field(default_factory=dict)
    retired: set[str] = field(default_factory=set)

    async def get(self, package_id: str) -> PackageState | None:
        known = self.versions.get(package_id)
        return PackageState(known[-1], package_id in self.retired) if known else None

    async def add_version(self, defined: PackageDefined) -> None:
        self.versions.setdefault(defined.package_id, []).append(defined)

    async def mark_retired(self, package_id: str) -> None:
        self.retired.add(package_id)


@dataclass
class FakeUnitOfWork:
    packages: FakePackages = field(default_factory=FakePackages)
    emitted: list[tuple[str, str | bytes | None, Message]] = field(default_factory=list)

    def emit(self, *args: Any) -> None:
        # Routed by the service's own table, as the real unit of work routes them.
        if len(args) == 1:
            [message] = args
            topic, key = ROUTES[type(message)](message)
        else:
            topic, key, message = args
        self.emitted.append((topic, key, message))

    def events(self) -> list[Message]:
        return [m for _, _, m in self.emitted]
