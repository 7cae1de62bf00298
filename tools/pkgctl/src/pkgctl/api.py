"""pkgctl's HTTP side: the services' read APIs (each service's own state, as JSON).

Where: CATALOG_API, ASSIGNMENT_API, CHARGER_API, ALLOWANCE_API, else the chosen profile's
catalog_api, ... (pkgctl.profiles); no default."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from pkgctl import profiles, reach

MAX_ITEMS = 5000
"""Most items pkgctl reads of one list (the APIs page by 1,000 at most)."""


class ApiUnreachable(RuntimeError):
    """A service's read API did not answer (or answered with an error)."""


class ApiNotSet(ApiUnreachable):
    """No read API URL is set for the service (the system is chosen by variables that leave
    it out): what only helps (a note, a faster path) does without it."""


def base(service: str) -> str:
    """The service's read API: checked (a bad one is a SettingError, exit 2)."""
    try:
        return reach.api_base(service)
    except profiles.NotSet as exc:
        raise ApiNotSet(exc.message) from None


def get(service: str, path: str, **params: Any) -> Any:
    """The JSON at `path` of `service`'s API; None for 404 (nothing known)."""
    query = urllib.parse.urlencode({k: str(v) for k, v in params.items() if v is not None})
    url = f"{base(service)}{path}" + (f"?{query}" if query else "")
    # Here, not at start: `pkgctl --help` does without them.
    from urllib.error import HTTPError, URLError
    from urllib.request import urlopen

    try:
        with urlopen(url, timeout=15) as response:  # noqa: S310 (checked above)
            return json.load(response)
    except HTTPError as exc:
        if exc.code == 404:
            return None
        detail = exc.read()[:300].decode(errors="replace")
        raise ApiUnreachable(f"{url} answered {exc.code}: {detail}") from None
    except (URLError, OSError) as exc:
        raise ApiUnreachable(
            f"the {service} service's read API at {base(service)} did not answer ({exc}); "
            f"is the system up? ({profiles.chosen().describe()})"
        ) from None


def pages(service: str, path: str, field: str | None = None, **params: Any) -> Any:
    """Every item of a paged list (up to MAX_ITEMS), with the last page's other fields; None
    for 404. `field`: where the page sits in the answer (None: the answer is the page)."""
    first = after = None
    items: list[Any] = []
    while True:
        answer = get(service, path, limit=1000, after=after, **params)
        if answer is None:
            return None
        page = answer[field] if field else answer
        items += page["items"]
        first = first or answer
        after = page["next"]
        if after is None or len(items) >= MAX_ITEMS:
            break
    if field is None:
        return {"items": items, "truncated": after is not None}
    return {**first, field: {"items": items, "truncated": after is not None}}


@dataclass
class Customer:
    """A customer at a glance: what each service knows (None: it knows nothing)."""

    customer_id: str
    assignments: dict[str, Any] | None
    spend_limit: dict[str, Any] | None
    charges: dict[str, Any] | None
    allowances: dict[str, Any] | None

    @property
    def known(self) -> bool:
        return any(
            x is not None
            for x in (self.assignments, self.spend_limit, self.charges, self.allowances)
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def customer(
    customer_id: str, from_: date | None, to: date | None, month: str | None = None
) -> Customer:
    """Ask the three services at once (`month`: YYYY-MM, the charges' month; default the
    charger's)."""
    import asyncio  # here, not at start: `pkgctl --help` does without it

    quoted = urllib.parse.quote(customer_id, safe="")
    assignments, limit, charges, allowances = await asyncio.gather(
        asyncio.to_thread(pages, "assignment", f"/customers/{quoted}/assignments"),
        asyncio.to_thread(get, "assignment", f"/customers/{quoted}/spend-limit"),
        asyncio.to_thread(
            pages,
            "charger",
            f"/customers/{quoted}/charges",
            "charges",
            to=to,
            month=month,
            **{"from": from_},
        ),
        asyncio.to_thread(pages, "allowance", f"/customers/{quoted}/allowances", "grants"),
    )
    return Customer(customer_id, assignments, limit, charges, allowances)
