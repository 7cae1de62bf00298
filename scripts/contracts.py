"""Writes (or checks) the published contracts: the AsyncAPI document of each service, as
FastStream generates it from the subscribers and publishers the service declares, the JSON
Schema of every message, and the OpenAPI document of each service's read API (FastAPI).

    uv run python scripts/contracts.py          # write docs/asyncapi, docs/schemas, docs/openapi
    uv run python scripts/contracts.py --check  # exit 1 when the committed files differ
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from faststream.specification import AsyncAPI

from pkgshared.http import openapi_document
from pkgshared.kafka import make_broker
from pkgshared.messages import MESSAGE_TYPES
from pkgshared.runtime import Runtime
from pkgshared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


class _Unstarted:
    """Stands in for the pool and relay: documents are built without connecting anything."""

    def wake(self) -> None:
        pass


def _services() -> dict[str, tuple[Callable[[Runtime], None], ServiceSettings]]:
    from allowance.config import AllowanceSettings
    from allowance.entrypoints.consumer import wire as wire_allowance
    from assignment.config import AssignmentSettings
    from assignment.entrypoints.consumer import wire as wire_assignment
    from catalog.config import CatalogSettings
    from catalog.entrypoints.consumer import wire as wire_catalog
    from charger.config import ChargerSettings
    from charger.entrypoints.consumer import wire as wire_charger

    return {
        "catalog": (wire_catalog, CatalogSettings()),
        "assignment": (wire_assignment, AssignmentSettings()),
        "charger": (wire_charger, ChargerSettings()),
        "allowance": (wire_allowance, AllowanceSettings()),
    }


def _apis() -> dict[str, Callable[[], FastAPI]]:
    from allowance.entrypoints.http import app as allowance_api
    from assignment.entrypoints.http import app as assignment_api
    from catalog.entrypoints.http import app as catalog_api
    from charger.entrypoints.http import app as charger_api

    return {
        "catalog": catalog_api,
        "assignment": assignment_api,
        "charger": charger_api,
        "allowance": allowance_api,
    }


def documents() -> dict[Path, str]:
    """Every published document, by the path it is committed at."""
    out: dict[Path, str] = {}
    for name, (wire, settings) in _services().items():
        broker = make_broker(settings, name)
        runtime = Runtime(name, settings, _Unstarted(), broker, _Unstarted(), None)  # type: ignore[arg-type]
        wire(runtime)
        spec = AsyncAPI(
            broker,
            title=f"packages: {name}",
            version="1",
            description=f"The {name} service's topics (CONTRACT.md).",
        ).to_specification()
        out[DOCS / "asyncapi" / f"{name}.json"] = _dump(spec.to_jsonable())
    for name, api in _apis().items():
        out[DOCS / "openapi" / f"{name}.json"] = openapi_document(api())
    for type_name, model in sorted(MESSAGE_TYPES.items()):
        out[DOCS / "schemas" / f"{type_name}.json"] = _dump(model.model_json_schema())
    return out


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    docs = documents()
    if "--check" in argv:
        stale = [p for p, text in docs.items() if not p.exists() or p.read_text() != text]
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    for path, text in docs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(docs)} documents under docs/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
