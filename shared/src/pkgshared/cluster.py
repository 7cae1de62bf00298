"""Which Kafka cluster a schema's state was built from: offsets stored for one cluster mean
nothing on another."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pkgshared.db import Pool


class WrongCluster(RuntimeError):
    """The schema's offsets and projections belong to another Kafka cluster."""


async def check_cluster(pool: Pool, found: str, schema: str) -> None:
    """Remember the Kafka cluster at the first start; refuse to start against another one,
    whose offsets would silently skip or replay messages."""
    recorded = await pool.fetchval(
        "INSERT INTO kafka_cluster (id, cluster_id) VALUES (1, $1) "
        "ON CONFLICT (id) DO UPDATE SET cluster_id = kafka_cluster.cluster_id "
        "RETURNING cluster_id",
        found,
    )
    if recorded != found:
        raise WrongCluster(
            f"schema {schema!r} was built from Kafka cluster {recorded} but the broker is "
            f"cluster {found}: its offsets mean nothing there. Point DB_SCHEMA at a new "
            f"schema (or drop this one) to rebuild from the topics"
        )
