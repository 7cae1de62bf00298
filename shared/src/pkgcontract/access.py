"""Who may read and write which topic (docs/contract.md §3), as Kafka ACLs.

Each service runs as its own user on the SASL listeners, allowed exactly what §3 gives it:
the topics it consumes (and their consumer groups, named after the service), the topics it
writes, and the dead-letter topics of what it consumes. `operator` is pkgctl's user: it reads
every topic, writes the command, clock and usage topics (`pkgctl usage`, `dlq replay`), and
may describe (not join) the services' consumer groups, for their lag (`pkgctl status`).

    python -m pkgcontract.access acl-args [--prefix P] [--group-prefix G]

prints one line of `org.apache.kafka.tools.AclCommand` arguments per grant;
`deploy/local/infra.sh` applies them (also `infra.sh acls PREFIX` for a test's topics).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from pkgcontract import topics as t


@dataclass(frozen=True)
class Access:
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()


def _service(reads: tuple[str, ...], writes: tuple[str, ...]) -> Access:
    return Access(reads, (*writes, *(t.dlq_topic(r) for r in reads)))


ACCESS: dict[str, Access] = {
    "catalog": _service((t.CATALOG_COMMANDS,), (t.CATALOG_PACKAGES,)),
    "assignment": _service((t.ASSIGNMENT_COMMANDS, t.CATALOG_PACKAGES), (t.ASSIGNMENT_EVENTS,)),
    "charger": _service(
        (t.CATALOG_PACKAGES, t.ASSIGNMENT_EVENTS, t.USAGE_RATED, t.CLOCK_TICKS, t.CHARGER_COMMANDS),
        (
            t.CHARGER_EVENTS,
            t.CREDIT_DEBITED,
            t.FREE_MINUTES_GRANTED,
            t.CHARGER_PROGRESS,
            t.CREDITS_ISSUED,
        ),
    ),
    "allowance": _service(
        (t.FREE_MINUTES_GRANTED, t.CHARGER_PROGRESS, t.USAGE_RATED),
        (t.FREE_MINUTES_USED, t.ALLOWANCE_BALANCES, t.ALLOWANCE_ALERTS),
    ),
    "ticker": Access(writes=(t.CLOCK_TICKS,)),
    "operator": Access(
        reads=tuple(spec.name for spec in t.TOPICS),
        writes=(
            t.CATALOG_COMMANDS,
            t.ASSIGNMENT_COMMANDS,
            t.CHARGER_COMMANDS,
            t.CLOCK_TICKS,
            t.USAGE_RATED,
        ),
    ),
}
USERS = tuple(ACCESS)
SERVICES = ("catalog", "assignment", "charger", "allowance")
"""The users that consume in groups of their own name (the operator may describe these)."""


def acl_args(prefix: str = "", group_prefix: str = "") -> list[list[str]]:
    """AclCommand arguments (after --bootstrap-server) granting ACCESS on `prefix`'s topics.
    Groups are granted by prefix: a service's groups start with its name (the operator's
    reader uses none)."""
    out: list[list[str]] = []
    for user, access in ACCESS.items():
        principal = ["--add", "--allow-principal", f"User:{user}"]
        if access.reads:
            topics_ = [a for name in access.reads for a in ("--topic", prefix + name)]
            out.append([*principal, "--operation", "Read", "--operation", "Describe", *topics_])
            out.append(
                [
                    *principal,
                    "--operation",
                    "Read",
                    "--operation",
                    "Describe",
                    "--group",
                    group_prefix + user,
                    "--resource-pattern-type",
                    "prefixed",
                ]
            )
        if access.writes:
            topics_ = [a for name in access.writes for a in ("--topic", prefix + name)]
            out.append([*principal, "--operation", "Write", "--operation", "Describe", *topics_])
    # `pkgctl status` shows each service group's lag: it may describe (not join) them.
    for service in SERVICES:
        out.append(
            [
                "--add",
                "--allow-principal",
                "User:operator",
                "--operation",
                "Describe",
                "--group",
                group_prefix + service,
                "--resource-pattern-type",
                "prefixed",
            ]
        )
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m pkgcontract.access")
    parser.add_argument("what", choices=["acl-args", "users"])
    parser.add_argument("--prefix", default="")
    parser.add_argument("--group-prefix", default="")
    args = parser.parse_args(argv)
    if args.what == "users":
        print("\n".join(USERS))
        return 0
    for line in acl_args(args.prefix, args.group_prefix):
        print(" ".join(line))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
