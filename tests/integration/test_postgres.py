"""The pool and the migrations runner against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from pkgshared.db import create_pool, migrate


def write(folder: Path, name: str, sql: str) -> None:
    (folder / name).write_text(sql)


async def test_migrations_apply_in_order_once_and_pool_uses_the_schema(
    database_url: str, fresh_schema: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_ledger.sql", "CREATE TABLE ledger (id int PRIMARY KEY, amount numeric);")
    write(tmp_path, "0002_seed.sql", "INSERT INTO ledger VALUES (1, 9.99);")
    pool = await create_pool(database_url, fresh_schema)
    try:
        assert await migrate(pool, tmp_path) == ["0001_ledger.sql", "0002_seed.sql"]
        assert await migrate(pool, tmp_path) == []

        async with pool.acquire() as conn:
            await conn.execute("INSERT INTO ledger VALUES (2, $1)", Decimal("0.0125"))
            rows = await conn.fetch(f"SELECT id, amount FROM {fresh_schema}.ledger ORDER BY id")
        assert [(r["id"], str(r["amount"])) for r in rows] == [(1, "9.99"), (2, "0.0125")]

        write(tmp_path, "0003_more.sql", "ALTER TABLE ledger ADD COLUMN note text;")
        assert await migrate(pool, tmp_path) == ["0003_more.sql"]
    finally:
        await pool.close()


async def test_instances_starting_together_migrate_a_fresh_schema_once(
    database_url: str, fresh_schema: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_ledger.sql", "CREATE TABLE ledger (id int PRIMARY KEY);")
    pools = await asyncio.gather(*(create_pool(database_url, fresh_schema) for _ in range(4)))
    try:
        applied = await asyncio.gather(*(migrate(pool, tmp_path) for pool in pools))
        assert sorted(applied) == [[], [], [], ["0001_ledger.sql"]]
    finally:
        for pool in pools:
            await pool.close()


async def test_a_changed_migration_is_refused(
    database_url: str, fresh_schema: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_t.sql", "CREATE TABLE t (id int);")
    pool = await create_pool(database_url, fresh_schema)
    try:
        await migrate(pool, tmp_path)
        write(tmp_path, "0001_t.sql", "CREATE TABLE t (id bigint);")
        with pytest.raises(RuntimeError, match="changed after it was applied"):
            await migrate(pool, tmp_path)
    finally:
        await pool.close()


async def test_a_failing_migration_leaves_nothing_behind(
    database_url: str, fresh_schema: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_ok.sql", "CREATE TABLE a (id int);")
    write(tmp_path, "0002_bad.sql", "CREATE TABLE b (id int); SELECT * FROM missing_table;")
    pool = await create_pool(database_url, fresh_schema)
    try:
        with pytest.raises(Exception, match="missing_table"):
            await migrate(pool, tmp_path)
        async with pool.acquire() as conn:
            names = await conn.fetch("SELECT name FROM schema_migrations")
            b_exists = await conn.fetchval("SELECT to_regclass('b') IS NOT NULL")
        assert [r["name"] for r in names] == ["0001_ok.sql"]
        assert b_exists is False
    finally:
        await pool.close()


async def test_a_schema_the_role_cannot_use_is_a_clear_error(
    database_url: str, fresh_schema: str
) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"CREATE SCHEMA {fresh_schema}")
        # Even an owner can take its own privileges away: a schema this role cannot use.
        await conn.execute(f"REVOKE ALL ON SCHEMA {fresh_schema} FROM CURRENT_USER")
    finally:
        await conn.close()
    with pytest.raises(PermissionError, match="cannot create in it"):
        await create_pool(database_url, fresh_schema)


async def test_a_schema_remembers_its_kafka_cluster_and_refuses_another(
    database_url: str, fresh_schema: str
) -> None:
    from pkgshared.cluster import WrongCluster, check_cluster
    from pkgshared.db import SHARED_MIGRATIONS

    pool = await create_pool(database_url, fresh_schema)
    try:
        await migrate(pool, SHARED_MIGRATIONS, "shared")
        await check_cluster(pool, "cluster-a", fresh_schema)
        await check_cluster(pool, "cluster-a", fresh_schema)
        with pytest.raises(WrongCluster, match="cluster-a"):
            await check_cluster(pool, "cluster-b", fresh_schema)
    finally:
        await pool.close()
