"""The charger's projections of its input topics (explicit SQL): package versions, assignments,
spend limits and usage. Due moments are worked out by the caller (the service layer); these
methods add, get and save."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from charger.adapters.codec import (
    COLUMN_NAMES,
    COLUMNS,
    TRACKED,
    assignment_columns,
    tracked_from_row,
    version_from_defined,
)
from charger.adapters.topups import PENDING_TOPUPS
from charger.domain.model import Assignment, PackageVersion, Tracked
from pkgcontract.messages import PackageDefined, SpendLimitSet, UsageRated, UsageReversed
from pkgcontract.messages.versions import to_current
from pkgshared.db import lock_customers

if TYPE_CHECKING:
    from pkgshared.db import Connection


_AS_ROWS = (
    "unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::date[], $6::date[], "
    "$7::text[], $8::text[], $9::timestamptz[])"
)
"""Assignments with their due moments as rows: `COLUMNS` then next_due_at (`_as_arrays`)."""


def _as_arrays(pairs: list[tuple[Assignment, datetime | None]]) -> list[list[Any]]:
    """The arrays `_AS_ROWS` takes: one per column, an entry per assignment."""
    rows = ((*assignment_columns(a), due) for a, due in pairs)
    return [list(column) for column in zip(*rows, strict=True)]


class ProjectionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def lock_customers(self, customer_ids: list[str]) -> None:
        """Lock (creating when new) the rows of `customer_ids`, given sorted: every writer of a
        customer's assignments locks it first."""
        await lock_customers(self.conn, customer_ids)

    async def lock_packages(self, package_ids: list[str]) -> None:
        """An assignment and its package's first version may be projected at the same moment by
        two consumers; each would miss the other's uncommitted row. Serialized per package."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('pkg:' || p)) "
            "FROM unnest($1::text[]) AS p ORDER BY p",
            sorted(package_ids),
        )

    # ------------------------------------------------------------ package versions
    async def add_version(self, defined: PackageDefined) -> None:
        """Store a version as published (a repeat is ignored); the package is locked first."""
        await self.lock_packages([defined.package_id])
        await self.conn.execute(
            "INSERT INTO package_versions (package_id, version, effective_from, definition) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            defined.package_id,
            defined.version,
            defined.effective_from,
            defined.model_dump_json(),
        )

    async def versions(self, package_ids: set[str]) -> dict[str, list[PackageVersion]]:
        rows = await self.conn.fetch(
            "SELECT definition FROM package_versions WHERE package_id = ANY($1::text[]) "
            "ORDER BY package_id, version",
            list(package_ids),
        )
        out: dict[str, list[PackageVersion]] = defaultdict(list)
        for r in rows:
            # Stored as published: an older version is read through the same converters.
            stored = to_current(json.loads(r["definition"]))
            v = version_from_defined(PackageDefined.model_validate(stored))
            out[v.package_id].append(v)
        return out

    # ------------------------------------------------------------ assignments
    async def customers_of_package(self, package_id: str) -> list[str]:
        """The customers with an assignment of the package, in lock order."""
        rows = await self.conn.fetch(
            "SELECT DISTINCT customer_id FROM assignments WHERE package_id = $1 "
            "ORDER BY customer_id",
            package_id,
        )
        return [r["customer_id"] for r in rows]

    async def package_assignments(self, customer_ids: list[str], package_id: str) -> list[Tracked]:
        """The package's assignments of `customer_ids` (sorted), locked after their customers."""
        await lock_customers(self.conn, customer_ids)
        rows = await self.conn.fetch(
            f"SELECT {TRACKED} FROM assignments "
            "WHERE customer_id = ANY($1::text[]) AND package_id = $2 "
            "ORDER BY assignment_id FOR UPDATE",
            customer_ids,
            package_id,
        )
        return [tracked_from_row(r) for r in rows]

    async def customers_of(self, assignment_ids: list[UUID]) -> dict[UUID, str]:
        """The customer of each known assignment of `assignment_ids`."""
        rows = await self.conn.fetch(
            "SELECT assignment_id, customer_id FROM assignments "
            "WHERE assignment_id = ANY($1::uuid[])",
            assignment_ids,
        )
        return {r["assignment_id"]: r["customer_id"] for r in rows}

    async def tracked(self, assignment_ids: list[UUID]) -> dict[UUID, Tracked]:
        """The assignments with their progress, locked (their customers must be locked
        already)."""
        rows = await self.conn.fetch(
            f"SELECT {TRACKED} FROM assignments WHERE assignment_id = ANY($1::uuid[]) "
            "ORDER BY assignment_id FOR UPDATE",
            assignment_ids,
        )
        found = (tracked_from_row(r) for r in rows)
        return {t.assignment.assignment_id: t for t in found}

    async def add_assignments(self, new: list[tuple[Assignment, datetime | None]]) -> None:
        """New assignments with their due moments (a repeat is ignored); their customers
        (locked by the caller) fall due no later than them."""
        inserted = await self.conn.fetch(
            f"INSERT INTO assignments ({COLUMNS}, next_due_at) SELECT * FROM {_AS_ROWS} "
            "ON CONFLICT DO NOTHING RETURNING customer_id, next_due_at",
            *_as_arrays(new),
        )
        earliest: dict[str, datetime] = {}
        for r in inserted:
            due, customer = r["next_due_at"], r["customer_id"]
            if due is not None and (customer not in earliest or due < earliest[customer]):
                earliest[customer] = due
        if earliest:
            ids = sorted(earliest)
            await self.conn.execute(
                "UPDATE customers c SET next_due_at = LEAST(c.next_due_at, p.due) "
                "FROM unnest($1::text[], $2::timestamptz[]) AS p(id, due) "
                "WHERE c.customer_id = p.id",
                ids,
                [earliest[c] for c in ids],
            )

    async def save(self, changed: list[tuple[Assignment, datetime | None]]) -> None:
        """Assignments' new terms or dates, with the due moments they give, in one statement."""
        if not changed:
            return
        await self.conn.execute(
            "UPDATE assignments a SET did = p.did, package_id = p.package_id, "
            "start_date = p.start_date, end_date = p.end_date, timezone = p.timezone, "
            f"terms = p.terms, next_due_at = p.due FROM {_AS_ROWS} "
            "AS p(id, customer_id, did, package_id, start_date, end_date, timezone, terms, due) "
            "WHERE a.assignment_id = p.id",
            *_as_arrays(changed),
        )

    async def set_due(self, due: dict[UUID, datetime | None]) -> None:
        ids = list(due)
        await self.conn.execute(
            "UPDATE assignments a SET next_due_at = p.due "
            "FROM unnest($1::uuid[], $2::timestamptz[]) AS p(id, due) "
            "WHERE a.assignment_id = p.id",
            ids,
            [due[i] for i in ids],
        )

    async def refresh_customers(self, customer_ids: list[str]) -> None:
        """Each customer's due moment: the earliest of its assignments' and its top-ups' not
        made yet."""
        await self.conn.execute(
            "INSERT INTO customers (customer_id, next_due_at) "
            "SELECT c, LEAST((SELECT min(next_due_at) FROM assignments WHERE customer_id = c), "
            f"({PENDING_TOPUPS.format(c='c')})) "
            "FROM unnest($1::text[]) AS c "
            "ON CONFLICT (customer_id) DO UPDATE SET next_due_at = EXCLUDED.next_due_at",
            customer_ids,
        )

    # ------------------------------------------------------------ spend limits and usage
    async def set_spend_limit(self, e: SpendLimitSet) -> None:
        await self.conn.execute(
            "INSERT INTO customers (customer_id, monthly_limit, limit_currency) "
            "VALUES ($1, $2, $3) ON CONFLICT (customer_id) DO UPDATE SET "
            "monthly_limit = EXCLUDED.monthly_limit, limit_currency = EXCLUDED.limit_currency",
            e.customer_id,
            e.monthly_limit,
            e.currency,
        )

    async def add_usage(self, records: list[UsageRated]) -> None:
        """Usage records, a whole batch in one statement; a repeated usage_id is ignored."""
        if not records:
            return
        await self.conn.execute(
            "INSERT INTO usage (usage_id, customer_id, did, amount, currency, occurred_at) "
            "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::numeric[], "
            "$5::text[], $6::timestamptz[]) ON CONFLICT DO NOTHING",
            [e.usage_id for e in records],
            [e.customer_id for e in records],
            [e.did for e in records],
            [e.amount for e in records],
            [e.currency for e in records],
            [e.occurred_at for e in records],
        )

    async def reverse_usage(self, reversals: list[UsageReversed]) -> None:
        """Reversed usage stops counting toward a minimum spend (MINIMUM_SPEND_USAGE) not
        charged yet; a record never read, another customer's or one already reversed is left
        as it is. A reversal_id read before is ignored, whatever it names (the first of an id
        counts, found or not)."""
        first: dict[object, UsageReversed] = {}
        for r in reversals:
            first.setdefault(r.reversal_id, r)
        if not first:
            return
        fresh = {
            row["reversal_id"]
            for row in await self.conn.fetch(
                "INSERT INTO usage_reversals_read (reversal_id) SELECT unnest($1::uuid[]) "
                "ON CONFLICT DO NOTHING RETURNING reversal_id",
                list(first),
            )
        }
        todo = [r for r in first.values() if r.reversal_id in fresh]
        if not todo:
            return
        await self.conn.execute(
            "UPDATE usage u SET reversed_by = r.reversal_id "
            "FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS r(reversal_id, usage_id, customer) "
            "WHERE u.usage_id = r.usage_id AND u.customer_id = r.customer "
            "AND u.reversed_by IS NULL",
            [r.reversal_id for r in todo],
            [r.usage_id for r in todo],
            [r.customer_id for r in todo],
        )

    # ------------------------------------------------------------ bulk seeding
    async def copy_versions(self, defined: list[PackageDefined]) -> None:
        """Package versions by COPY, stored as the projection stores them (for seeding a
        schema in bulk: the benchmarks)."""
        await self.conn.copy_records_to_table(
            "package_versions",
            records=[
                (d.package_id, d.version, d.effective_from, d.model_dump_json()) for d in defined
            ],
            columns=["package_id", "version", "effective_from", "definition"],
        )

    async def copy_assignments(self, assignments: list[tuple[Assignment, datetime | None]]) -> None:
        """Assignments new to the schema with their next due moments, and their customers
        (one each, new too), by COPY: what the projection would have stored, written at
        COPY's speed (for seeding a schema in bulk: the benchmarks)."""
        if not assignments:
            return
        await self.conn.copy_records_to_table(
            "assignments",
            records=[(*assignment_columns(a), due) for a, due in assignments],
            columns=[*COLUMN_NAMES, "next_due_at"],
        )
        await self.conn.copy_records_to_table(
            "customers",
            records=[(a.customer_id, due) for a, due in assignments],
            columns=["customer_id", "next_due_at"],
        )
