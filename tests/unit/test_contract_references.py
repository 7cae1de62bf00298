"""Every "docs/contract.md §N" the code and docs cite leads to a section of docs/contract.md:
the contract's own numbers (§1 to §7) are the headings of the project's copy in its words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CITED = re.compile(r"contract\.md\s+§(\d+)")
WHERE = ("services", "shared", "tools", "tests", "scripts", "bench", "deploy", "docs")
SKIP = {".cache", ".pytest_cache", ".hypothesis", "__pycache__", ".mypy_cache", ".ruff_cache"}


def _text(path: Path) -> str:
    """The file's text, or "" when another test's file went away while this one looked."""
    try:
        return path.read_text(errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return ""


def _sections() -> set[str]:
    text = (ROOT / "docs" / "contract.md").read_text()
    return set(re.findall(r"^## §(\d+) ", text, flags=re.MULTILINE))


def test_the_project_copy_has_the_contracts_seven_sections() -> None:
    assert _sections() == {str(n) for n in range(1, 8)}


def test_every_cited_section_exists() -> None:
    sections = _sections()
    cited: dict[str, list[str]] = {}
    for top in WHERE:
        for path in (ROOT / top).rglob("*"):
            if path.suffix not in {".py", ".md", ".sql", ".sh", ".yml"} or SKIP & set(path.parts):
                continue
            for number in CITED.findall(_text(path)):
                cited.setdefault(number, []).append(str(path.relative_to(ROOT)))
    assert cited, "no reference found: the pattern no longer matches how the code cites"
    missing = {n: paths[:3] for n, paths in cited.items() if n not in sections}
    assert not missing, missing


def test_nothing_cites_the_contract_outside_the_repository() -> None:
    outside = [
        str(path.relative_to(ROOT))
        for top in WHERE
        for path in (ROOT / top).rglob("*.py")
        if not SKIP & set(path.parts)
        and "CONTRACT.md" in _text(path)
        and path.name != Path(__file__).name
    ]
    assert not outside, outside
