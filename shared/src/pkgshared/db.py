"""PostgreSQL plumbing: a pool bound to the service's own schema, and a migrations runner.

Migrations are plain SQL files `NNNN_name.sql` in a folder, applied in order, each in its own
transaction, recorded in `<schema>.schema_migrations`. An advisory lock keeps two instances
starting at once from applying the same file twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
import structlog

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
    """The service's pool (connections on its own schema)."""
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    """A connection, or one borrowed from the pool."""

log = structlog.get_logger(__name__)

_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def checked_schema(schema: str) -> str:
    """A schema name safe to put in SQL (it cannot be a bind parameter)."""
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 5) -> Pool:
    """A pool whose connections use `schema` (created if missing) as their search_path."""
    schema = checked_schema(schema)
    conn = await asyncpg.connect(dsn)
    try:
        # UniqueViolation: two instances raced to create it.
        with contextlib.suppress(asyncpg.UniqueViolationError):
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        allowed = await conn.fetchval("SELECT has_schema_privilege($1, 'CREATE')", schema)
        if not allowed:
            user = await conn.fetchval("SELECT current_user")
            raise PermissionError(
                f"schema {schema!r} exists but role {user!r} cannot create in it: connect as "
                f"the schema's owner, or set DB_SCHEMA to a schema of {user!r}'s own"
            )
    finally:
        await conn.close()
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": schema},
    )


def migration_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".sql")
    for p in files:
        if not _MIGRATION_RE.match(p.name):
            raise ValueError(f"migration file {p.name!r} is not named NNNN_name.sql")
    return files


SHARED_MIGRATIONS = Path(__file__).parent / "migrations"


async def migrate(pool: Pool, folder: Path, label: str = "") -> list[str]:
    """Apply the migrations of `folder` not yet applied; return the names applied.

    `label` prefixes the recorded names, so that several folders (the shared outbox tables,
    then the service's own) can share one schema.
    """
    applied: list[str] = []
    async with pool.acquire() as conn:
        schema = await conn.fetchval("SELECT current_schema()")
        lock_key = int.from_bytes(hashlib.sha256(schema.encode()).digest()[:8], "big", signed=True)
        # Locked before anything is created: two instances starting together would otherwise
        # race even on CREATE TABLE IF NOT EXISTS (a unique violation in pg_type).
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {
                r["name"]: r["checksum"]
                for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
            }
            for path in migration_files(folder):
                name = f"{label}:{path.name}" if label else path.name
                sql = path.read_text()
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if name in done:
                    if done[name] != checksum:
                        raise RuntimeError(
                            f"migration {name} changed after it was applied; "
                            "add a new migration instead"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                        name,
                        checksum,
                    )
                applied.append(name)
                log.info("migration applied", migration=name, schema=schema)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied


async def lock_customers(conn: Connection, customer_ids: list[str]) -> None:
    """Lock (creating when new) the rows of `customer_ids`, given sorted, in the schema's
    `customers` table: the order every writer of a customer's rows locks them in."""
    await conn.execute(
        "INSERT INTO customers (customer_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        customer_ids,
    )
    await conn.execute(
        "SELECT 1 FROM customers WHERE customer_id = ANY($1::text[]) "
        "ORDER BY customer_id FOR UPDATE",
        customer_ids,
    )
