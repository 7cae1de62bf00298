"""The committed AsyncAPI documents and JSON Schemas are what the code generates now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("contracts", ROOT / "scripts" / "contracts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_documents_match_the_code() -> None:
    documents = load_generator().documents()
    stale = [
        str(path.relative_to(ROOT))
        for path, text in documents.items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"regenerate with `uv run python scripts/contracts.py`: {stale}"
    committed = {p for p in (ROOT / "docs" / "schemas").glob("*.json")}
    assert committed == {p for p in documents if p.parent.name == "schemas"}


def test_every_service_documents_the_topics_it_reads_and_writes() -> None:
    import json

    documents = load_generator().documents()
    channels = {
        path.stem: set(json.loads(text)["channels"])
        for path, text in documents.items()
        if path.parent.name == "asyncapi"
    }
    assert channels["catalog"] == {"catalog.commands", "catalog.packages"}
    assert channels["assignment"] == {
        "assignment.commands",
        "catalog.packages",
        "assignment.events",
    }
    assert channels["charger"] >= {
        "clock.ticks",
        "assignment.events",
        "usage.rated",
        "charger.commands",
        "billing.credit-debited",
        "billing.free-minutes-granted",
        "charger.events",
    }
