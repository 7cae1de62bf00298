"""Rollover (docs/contract.md §6): when a grant whose `rollover_percent` p > 0 expires, its
unused seconds up to `floor(granted x p / 100)` carry into a new grant of the same customer,
DID, assignment and prefixes, valid for `rollover_days` from the expired grant's end. A rollover
grant never rolls over again and has no thresholds. Pure: plain values only."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import NAMESPACE_URL, UUID, uuid5

from allowance.domain.model import Grant


def rollover_id(grant_id: UUID) -> UUID:
    """The rollover grant of `grant_id`: one id, whoever makes it and however often."""
    return uuid5(NAMESPACE_URL, "packages:rollover:" + str(grant_id))


class Rollover(NamedTuple):
    expired: Grant  # the grant that expired, with the seconds it carried
    carried: Grant  # the rollover grant


def carry(g: Grant) -> int:
    """The seconds `g` carries when it expires now: its unused seconds up to its share."""
    if g.rollover_percent <= 0 or not g.rollover_days or g.rolled_over_from is not None:
        return 0
    if g.rolled_over_seconds:  # carried once already
        return 0
    unused = g.granted_seconds - g.used_seconds
    return max(0, min(unused, g.granted_seconds * g.rollover_percent // 100))


def roll_over(g: Grant, horizon: datetime) -> Rollover | None:
    """`g` expiring (the settled moment `horizon` passed its window): the grant with the
    seconds it carried and the rollover grant they carry into (expired already when `horizon`
    has passed its window too), or None when nothing carries."""
    seconds = carry(g)
    if seconds == 0:
        return None
    assert g.rollover_days is not None  # carry() is 0 without it
    until = g.valid_until + timedelta(days=g.rollover_days)
    carried = Grant(
        grant_id=rollover_id(g.grant_id),
        customer_id=g.customer_id,
        did=g.did,
        assignment_id=g.assignment_id,
        destination_prefixes=g.destination_prefixes,
        valid_from=g.valid_until,
        valid_until=until,
        granted_seconds=seconds,
        status="expired" if horizon >= until else "active",
        rolled_over_from=g.grant_id,
    )
    return Rollover(replace(g, rolled_over_seconds=seconds), carried)
