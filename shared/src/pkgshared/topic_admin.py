"""Creating and checking the contract's topics, and naming the cluster: the Kafka admin side of
`pkgcontract.topics` (what a topic must be is `pkgshared.topic_check`'s).

`python -m pkgshared.topic_admin create --bootstrap HOST:PORT` creates every topic that is
missing, with a replication factor and min.insync.replicas that suit the cluster (3 and 2 on
three brokers or more; `--replication-factor`, `--min-insync-replicas` to choose), then checks
the topics that already existed: partitions, copies, cleanup policy, min.insync.replicas and
the contract's other settings. When one differs it prints topic, setting, found and expected,
and exits 1 without changing anything. `check` only checks (a missing topic is a difference).
Safe to run on every start (local scripts, compose init).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pkgcontract.topics import TOPICS, TopicSpec, with_prefix
from pkgshared.topic_check import (
    DescribedTopic,
    Difference,
    Durability,
    differences,
    resolve_durability,
    topic_config,
)

if TYPE_CHECKING:
    from aiokafka.admin import AIOKafkaAdminClient

TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicsReport:
    """What a run found and did: the brokers reported, the durability used, the topics it
    created and how the others differ from the contract."""

    brokers: int
    durability: Durability
    created: list[str]
    differences: list[Difference]


async def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec] = TOPICS,
    *,
    create: bool = True,
    check: bool = True,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    **client_options: Any,
) -> TopicsReport:
    """Create the missing topics of `specs` (when `create`), then compare the ones that existed
    with the contract (when `check`; without `create`, a missing topic is a difference).
    Durability left out is the cluster's default (`topic_check.default_durability`).
    `client_options`: security."""
    specs = tuple(specs)
    async with _admin(bootstrap, client_options) as admin:
        brokers = len((await admin.describe_cluster())["brokers"])
        durability = resolve_durability(brokers, replication_factor, min_insync_replicas)
        existing = await _describe(admin, {s.name for s in specs})
        created: list[str] = []
        rest = specs
        if create:
            missing = [s for s in specs if s.name not in existing]
            created = await _create(admin, missing, durability)
            raced = {s.name for s in missing} - set(created)  # created by another client
            if raced and check:
                existing.update(await _describe(admin, raced))
            # Only what existed before (or what another client created, once described).
            rest = tuple(s for s in specs if s.name in existing)
        found = differences(rest, existing, durability) if check else []
    return TopicsReport(brokers, durability, created, found)


async def create_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec] = TOPICS,
    *,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    **client_options: Any,
) -> list[str]:
    """Create the missing topics of `specs`, existing ones unchecked; return the names created
    (`client_options`: security)."""
    report = await ensure_topics(
        bootstrap,
        specs,
        check=False,
        replication_factor=replication_factor,
        min_insync_replicas=min_insync_replicas,
        **client_options,
    )
    return report.created


async def _create(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], durability: Durability
) -> list[str]:
    """Create `specs`; return the names this call created (one another client created in the
    meantime is not among them, so it is checked as an existing one)."""
    from aiokafka.admin import NewTopic

    if not specs:
        return []
    response = await admin.create_topics(
        [
            NewTopic(
                name=s.name,
                num_partitions=s.partitions,
                replication_factor=durability.replication_factor,
                topic_configs=topic_config(s, durability),
            )
            for s in specs
        ]
    )
    created, raced = [], []
    for error in response.to_object()["topic_errors"]:
        code = error["error_code"]
        if code == TOPIC_ALREADY_EXISTS:
            raced.append(error["topic"])
        elif code:
            raise RuntimeError(
                f"creating topic {error['topic']}: Kafka error {code} "
                f"{error.get('error_message') or ''}".rstrip()
            )
        else:
            created.append(error["topic"])
    return created


async def _describe(admin: AIOKafkaAdminClient, names: set[str]) -> dict[str, DescribedTopic]:
    """The topics among `names` that exist, as the cluster describes them."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    # All topics' metadata: asking for topics by name would create the missing ones on a broker
    # that auto-creates topics (the local one does), with its defaults.
    metadata = {
        t["topic"]: t
        for t in await admin.describe_topics()
        if t["topic"] in names and t["error_code"] == 0
    }
    if not metadata:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in sorted(metadata)]
    )
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.to_object()["resources"]:
            if resource["error_code"]:
                raise RuntimeError(
                    f"describing topic {resource['resource_name']}: Kafka error "
                    f"{resource['error_code']} {resource['error_message'] or ''}".rstrip()
                )
            configs[resource["resource_name"]] = {
                e["config_names"]: e["config_value"] for e in resource["config_entries"]
            }
    return {
        name: DescribedTopic(
            name=name,
            partitions=len(topic["partitions"]),
            replication_factor=min((len(p["replicas"]) for p in topic["partitions"]), default=0),
            config=configs.get(name, {}),
        )
        for name, topic in metadata.items()
    }


@contextlib.asynccontextmanager
async def _admin(bootstrap: str, client_options: dict[str, Any]) -> AsyncIterator[Any]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **client_options
    )
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def cluster_id(bootstrap: str, **client_options: Any) -> str:
    """The Kafka cluster's id, as the broker reports it (`client_options`: security)."""
    async with _admin(bootstrap, client_options) as admin:
        found = (await admin.describe_cluster()).get("cluster_id")
    if not found:
        raise RuntimeError(f"the broker at {bootstrap} reports no cluster id")
    return str(found)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m pkgshared.topic_admin")
    sub = root.add_subparsers(dest="command", required=True)
    for name, text in (
        ("create", "create every missing contract topic, then check the existing ones"),
        ("check", "check the contract topics only (exit 1 when one differs or is missing)"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--bootstrap", default="127.0.0.1:9092")
        command.add_argument("--prefix", default="", help="the topics under this TOPIC_PREFIX")
        command.add_argument(
            "--replication-factor",
            type=_positive,
            help="copies of each partition (default: 3 on 3+ brokers, else the broker count)",
        )
        command.add_argument(
            "--min-insync-replicas",
            type=_positive,
            help="copies an acks=all write needs (default: 2 with 3+ copies, else 1)",
        )
    sub.add_parser("list", help="print the contract's topics")
    short = sub.add_parser("cluster-tag", help="print 8 hex digits naming the Kafka cluster")
    short.add_argument("--bootstrap", default="127.0.0.1:9092")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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
    try:
        report = asyncio.run(
            ensure_topics(
                args.bootstrap,
                with_prefix(args.prefix),
                create=args.command == "create",
                replication_factor=args.replication_factor,
                min_insync_replicas=args.min_insync_replicas,
                **security,
            )
        )
    except ValueError as exc:  # a durability the cluster cannot hold
        print(f"topic_admin: {exc}", file=sys.stderr)
        return 2
    return _print(report, args.command)


def _print(report: TopicsReport, command: str) -> int:
    wanted = report.durability
    print(
        f"{report.brokers} broker(s): replication factor {wanted.replication_factor}, "
        f"min.insync.replicas {wanted.min_insync_replicas}"
    )
    if command == "create":
        created = report.created
        print(f"created {len(created)} topic(s){': ' + ', '.join(created) if created else ''}")
    for difference in report.differences:
        print(f"differs: {difference}")
    if report.differences:
        print(
            f"{len(report.differences)} difference(s) from the contract; existing topics were "
            "left as they are (docs/scaling.md: fixing a difference)",
            file=sys.stderr,
        )
        return 1
    print("every contract topic is as the contract says")
    return 0


if __name__ == "__main__":
    sys.exit(main())
