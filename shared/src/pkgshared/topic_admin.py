"""Creating the contract's topics and naming the cluster: the Kafka admin side of
`pkgcontract.topics`.

`python -m pkgshared.topic_admin create --bootstrap HOST:PORT` creates every topic that is
missing and leaves existing ones alone, so it is safe to run on every start (local scripts,
compose init).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from pkgcontract.topics import TOPICS, TopicSpec


async def create_topics(
    bootstrap: str, specs: tuple[TopicSpec, ...] = TOPICS, **client_options: Any
) -> list[str]:
    """Create the missing topics of `specs`; return the names created (`client_options`:
    security)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **client_options
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        name=s.name,
                        num_partitions=s.partitions,
                        replication_factor=1,
                        topic_configs=s.config,
                    )
                    for s in missing
                ]
            )
        return [s.name for s in missing]
    finally:
        await admin.close()


async def cluster_id(bootstrap: str, **client_options: Any) -> str:
    """The Kafka cluster's id, as the broker reports it (`client_options`: security)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **client_options
    )
    await admin.start()
    try:
        found = (await admin.describe_cluster()).get("cluster_id")
    finally:
        await admin.close()
    if not found:
        raise RuntimeError(f"the broker at {bootstrap} reports no cluster id")
    return str(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pkgshared.topic_admin")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create every missing contract topic")
    create.add_argument("--bootstrap", default="127.0.0.1:9092")
    sub.add_parser("list", help="print the contract's topics")
    short = sub.add_parser("cluster-tag", help="print 8 hex digits naming the Kafka cluster")
    short.add_argument("--bootstrap", default="127.0.0.1:9092")
    args = parser.parse_args(argv)
    # The services' security settings (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*), when set.
    from pkgshared.kafka import client_security
    from pkgshared.settings import ServiceSettings

    security = client_security(ServiceSettings())
    if args.command == "cluster-tag":
        import hashlib

        found = asyncio.run(cluster_id(args.bootstrap, **security))
        print(hashlib.sha256(found.encode()).hexdigest()[:8])
        return 0
    if args.command == "list":
        for spec in TOPICS:
            print(spec.name)
        return 0
    created = asyncio.run(create_topics(args.bootstrap, TOPICS, **security))
    print(f"created {len(created)} topic(s){': ' + ', '.join(created) if created else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
