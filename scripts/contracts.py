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

from pkgshared import topics
from pkgshared.http import openapi_document
from pkgshared.kafka import make_broker
from pkgshared.messages import MESSAGE_TYPES, DeadLetter
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
        out[DOCS / "asyncapi" / f"{name}.json"] = _dump(_completed(spec.to_jsonable()))
    for name, api in _apis().items():
        out[DOCS / "openapi" / f"{name}.json"] = openapi_document(api())
    for type_name, model in sorted(MESSAGE_TYPES.items()):
        out[DOCS / "schemas" / f"{type_name}.json"] = _dump(model.model_json_schema())
    return out


def _completed(doc: dict[str, Any]) -> dict[str, Any]:
    """What FastStream leaves out of the document: each message's key and `event_type` header,
    the correlation id where it is (the payload), and the .dlq channel of every topic read."""
    doc["components"].setdefault("schemas", {})["DeadLetter"] = DeadLetter.model_json_schema()
    for operation in list(doc["operations"].values()):
        if operation["action"] != "receive":
            continue
        topic = operation["channel"]["$ref"].rsplit("/", 1)[-1]
        dlq = topic + topics.DLQ_SUFFIX
        doc["components"]["messages"][f"{dlq}:DeadLetter"] = {
            "title": f"{dlq}:DeadLetter",
            "payload": {"$ref": "#/components/schemas/DeadLetter"},
        }
        doc["channels"][dlq] = {
            "address": dlq,
            "description": f"Records of {topic} that could not be read, or failed every retry.",
            "bindings": {"kafka": {"bindingVersion": "0.4.0", "topic": dlq}},
            "messages": {"DeadLetter": {"$ref": f"#/components/messages/{dlq}:DeadLetter"}},
            "servers": doc["channels"][topic]["servers"],
        }
        doc["operations"][dlq] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{dlq}"},
            "messages": [{"$ref": f"#/channels/{dlq}/messages/DeadLetter"}],
        }
    for name, message in doc["components"]["messages"].items():
        topic = name.split(":", 1)[0]
        key = topics.KEYS.get(topic, "the source record's key")
        message["correlationId"] = {
            "location": "$message.payload#/correlation_id",
            "description": "Copied from the command that caused the event.",
        }
        message["headers"] = {
            "type": "object",
            "required": ["event_type"],
            "properties": {
                "event_type": {"type": "string", "description": "The payload's event_type."}
            },
        }
        message["bindings"] = {
            "kafka": {
                "bindingVersion": "0.4.0",
                "key": {"type": "string", "description": f"Key: {key}."},
            }
        }
    return doc


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
