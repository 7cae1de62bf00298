"""Where a charger's CPU goes during a tick, by stage: py-spy's raw folded stacks (written by
`bench/run.py --profile DIR`) summed per stage of the charge run and of the outbox relay.

    uv run python bench/profile_stages.py DIR/<file>.txt [--events 120000] [--rate 100]

A sample belongs to the deepest frame on its stack that a rule names (a rule may ask for an
enclosing stage, so that a database call counts where it was made); what no rule names is
shown by its innermost frames, to write the next rule.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

RULES: list[tuple[str, str, str | None]] = [
    # (a frame's text holds this, the stage it starts, only inside this stage or anywhere);
    # library frames name a stage only outside every stage of the service (a socket's write
    # counts where the write was asked for; what a socket read brings is the library's)
    ("charge_due (charger/service_layer/charge_due.py", "claim, clock, commit of a batch", None),
    ("settle_tick (", "ChargesSettled", None),
    ("charge_batch (charger/service_layer/charging.py", "charge_batch: notices, holds", None),
    ("plan_batch (", "loading + planning", None),
    ("decide (charger/domain/decisions.py", "deciding", None),
    ("outcomes (charger/domain/charge_run.py", "deciding", None),
    ("left_by (", "progress: next due (domain)", None),
    (".emit (pkgshared/uow.py", "event encoding (emit)", None),
    ("LedgerRepository.record (", "ledger insert (COPY)", None),
    ("LedgerRepository.advance (", "progress writes", None),
    ("LedgerRepository.set_next_due (", "progress writes", None),
    ("make_due_topups (", "top-ups", None),
    ("enqueue (pkgshared/outbox.py", "outbox write", None),
    ("commit (asyncpg/transaction.py", "claim, clock, commit of a batch", None),
    ("OutboxRelay.publish_batch (", "relay: read + delete rows", None),
    ("BatchPublisher.__call__ (", "relay: records into batches", None),
    ("send_batch (aiokafka", "producer: send, acks (aiokafka)", None),
    ("aiokafka/producer/sender.py", "producer: send, acks (aiokafka)", "other"),
    ("aiokafka/conn.py", "producer: send, acks (aiokafka)", "other"),
    ("aiokafka/producer/", "producer: send, acks (aiokafka)", "other"),
    ("asyncpg/", "asyncpg (results, protocol)", "other"),
    ("BaseSelectorEventLoop._process_events", "event loop, sockets", "other"),
    ("select (selectors.py", "event loop, sockets", "other"),
    ("_SelectorSocketTransport", "event loop, sockets", "other"),
    ("gc_collect", "garbage collector", None),
]


def stage_of(stack: list[str]) -> str:
    stage = "other"
    for frame in stack:
        for text, name, inside in RULES:
            if text in frame and (inside is None or inside == stage):
                stage = name
                break
    return stage


def read(path: Path) -> list[tuple[list[str], int]]:
    out = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out.append((stack.split(";"), int(count)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--events", type=int, default=120_000, help="events the tick made")
    parser.add_argument("--rate", type=int, default=100, help="py-spy's samples per second")
    parser.add_argument("--unnamed", type=int, default=15, help="unnamed stacks to show")
    args = parser.parse_args()
    samples = read(args.profile)
    stages: Counter[str] = Counter()
    unnamed: Counter[str] = Counter()
    for stack, n in samples:
        stage = stage_of(stack)
        stages[stage] += n
        if stage == "other":
            unnamed[";".join(f.split(" (")[0] for f in stack[-4:])] += n
    total = sum(stages.values())
    print(f"{total} samples = {total / args.rate:.1f} CPU seconds; {args.events} events")
    print("| stage | share of CPU | us per event |")
    print("|---|---|---|")
    for name, n in stages.most_common():
        us = n / args.rate / args.events * 1e6
        print(f"| {name} | {n / total:.0%} | {us:.1f} |")
    print(f"| all | 100% | {total / args.rate / args.events * 1e6:.1f} |")
    if args.unnamed:
        print("\nunnamed stacks (innermost frames):")
        for stack, n in unnamed.most_common(args.unnamed):
            print(f"  {n:5d} {stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
