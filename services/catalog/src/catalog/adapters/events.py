"""Where the catalog's events go (docs/contract.md §3): one table from event type to topic and
key, so that handlers emit an event and nothing else. A rejection names its topic and key
itself (the package of the command it answers)."""

from __future__ import annotations

from pkgcontract import topics
from pkgcontract.messages import PackageDefined, PackageRetired
from pkgshared.uow import Route

ROUTES: dict[type, Route] = {
    PackageDefined: lambda e: (topics.CATALOG_PACKAGES, e.package_id),
    PackageRetired: lambda e: (topics.CATALOG_PACKAGES, e.package_id),
}
