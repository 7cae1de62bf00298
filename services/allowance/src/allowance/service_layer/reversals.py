"""Reversals applied in their customer's order, inside the transaction that applies that
customer's calls (allowance.service_layer.applying): every second the reversed call used goes
back to the grant it came from while that grant is active, and is lost on an expired one; one
FreeMinutesReturned per call reversed, at most once (docs/contract.md §6 Reversal)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

import structlog

from allowance import metrics
from allowance.domain.model import Call, Grant
from allowance.domain.reversal import CoveredBatch, CoveredCall, GrantSeconds, Reversal, give_back
from allowance.service_layer.ports import Allowances, UnitOfWork
from pkgcontract.messages import FreeMinutesReturned, GrantReturn, natural_event_id

log = structlog.get_logger(__name__)


class Reversing:
    """What a transaction's reversals need and do: the covered calls they may name (recorded
    before, or applied in this very transaction ahead of them), the grants those calls used,
    and what to write once the transaction's items are applied."""

    def __init__(self, known: dict[UUID, CoveredCall], grants: dict[UUID, Grant]) -> None:
        self._known = known  # usage_id -> what the call used, as recorded before
        self._grants = grants  # the grants recorded calls used, as read (any status)
        self.batch = CoveredBatch()  # covered calls applied now: recorded at the end
        # usage_id -> its number in `batch`, kept only when the transaction has reversals.
        self._in_batch: dict[UUID, int] | None = None
        self._marked: list[tuple[UUID, UUID]] = []  # (usage_id, reversal_id) recorded before
        self.touched: set[UUID] = set()  # grants seconds came back to
        self.applied = 0  # reversals that took a covered call back
        self._returned: list[tuple[str, UUID]] = []  # (customer, usage_id): logged in `finish`

    @classmethod
    async def prepare(cls, reversals: list[Reversal], store: Allowances) -> Reversing:
        """Read what `reversals` may need (nothing when there is none)."""
        if not reversals:
            return cls({}, {})
        known = await store.covered_calls(sorted({r.usage_id for r in reversals}))
        ids = sorted({u.grant_id for c in known.values() if c.reversal_id is None for u in c.uses})
        done = cls(known, {g.grant_id: g for g in await store.grants_by_id(ids)})
        done._in_batch = {}
        return done

    def covered(self, call: Call, credit: Decimal, uses: Sequence[GrantSeconds]) -> None:
        """A call covered in this transaction (a reversal after it may take it back)."""
        n = self.batch.add(call, credit, uses)
        if self._in_batch is not None:
            self._in_batch[call.usage_id] = n

    def reverse(
        self,
        r: Reversal,
        grants: dict[str, list[Grant]],
        changed: dict[UUID, Grant],
        uow: UnitOfWork,
    ) -> None:
        """Apply `r` to its customer's grants as they are now (`grants`, updated in place,
        and `changed`); emits FreeMinutesReturned when its call was covered and not reversed
        before."""
        k = self._in_batch.get(r.usage_id) if self._in_batch is not None else None
        call = self._known.get(r.usage_id) if k is None else self.batch.call(k)
        where = {"customer_id": r.customer_id, "usage_id": str(r.usage_id)}
        if call is None or call.customer_id != r.customer_id:
            # Never read, not covered, or another customer's: nothing to give back.
            log.debug("reversal of a call not covered: nothing given back", **where)
            metrics.REVERSALS_NOTHING.inc()
            return
        if call.reversal_id is not None:
            log.debug("call reversed before: nothing given back", **where)
            metrics.REVERSALS_NOTHING.inc()
            return
        state = grants.setdefault(r.customer_id, [])
        at = {g.grant_id: n for n, g in enumerate(state)}
        lines = []
        for used in call.uses:
            grant_id, seconds = used.grant_id, used.seconds
            n = at.get(grant_id)
            if n is None:
                state.append(self._grants[grant_id])
                n = at[grant_id] = len(state) - 1
            given = give_back(state[n], seconds)
            if given.returned:
                state[n] = changed[grant_id] = given.grant
                self.touched.add(grant_id)
            lines.append(
                GrantReturn(
                    grant_id=grant_id,
                    seconds_returned=given.returned,
                    seconds_lost=given.lost,
                    remaining_seconds=given.grant.remaining_seconds,
                )
            )
            metrics.SECONDS_RETURNED.inc(given.returned)
            metrics.SECONDS_LOST.inc(given.lost)
        if k is not None:  # covered in this very transaction
            self.batch.reversal_ids[k] = r.reversal_id
        else:
            self._known[r.usage_id] = call._replace(reversal_id=r.reversal_id)
            self._marked.append((r.usage_id, r.reversal_id))
        uow.emit(
            FreeMinutesReturned(
                event_id=natural_event_id(f"returned:{r.usage_id}"),
                usage_id=r.usage_id,
                reversal_id=r.reversal_id,
                customer_id=r.customer_id,
                did=call.did,
                credit=call.credit,
                currency=call.currency,
                grants=lines,
            )
        )
        self.applied += 1
        self._returned.append((r.customer_id, r.usage_id))
        metrics.REVERSALS_RETURNED.inc()
        # One line a reversal at debug, one a transaction at info (`finish`): a JSON line is a
        # quarter of a reversal's CPU (bench/allowance_stages.py --reversed-percent).
        log.debug(
            "call reversed: its free minutes given back",
            **where,
            reversal_id=str(r.reversal_id),
            returned=sum(line.seconds_returned for line in lines),
            lost=sum(line.seconds_lost for line in lines),
        )

    async def finish(self, store: Allowances) -> None:
        """Record the covered calls applied now and the reversals of calls recorded before."""
        if len(self.batch):
            await store.record_covered(self.batch)
        if self._marked:
            await store.mark_reversed(self._marked)
        if self._returned:
            log.info(
                "calls reversed: their free minutes given back",
                reversals=len(self._returned),
                customers=sorted({c for c, _ in self._returned})[:20],
                usage_ids=[str(u) for _, u in self._returned[:20]],
            )
