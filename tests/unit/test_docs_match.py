"""The docs name only what exists (issue 35): every `pkgctl` command and flag in README.md and
docs/*.md is one pkgctl's command tree has, every `make` target one the Makefile has, every
repository path one the repository holds (or git ignores: made on the machine), every port
one the project configures. Code spans and code blocks are read; prose is not. The checks are
run on a document made to break each rule, so they can fail."""

from __future__ import annotations

import fnmatch
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer

from pkgctl.app import app

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONFIGURING = [
    ROOT / "docker-compose.yml",
    ROOT / "Makefile",
    *sorted((ROOT / "deploy").rglob("*.yml")),
    *sorted((ROOT / "deploy").rglob("*.sh")),
    *sorted((ROOT / "deploy").rglob("*.conf")),
    *sorted((ROOT / "scripts").glob("*.sh")),
    *sorted((ROOT / "scripts").glob("*.py")),
]
"""Where the project says which ports it uses."""

START = r"(?:^|&&|;|\$\(|\(|\|\||\bthen|\bdo)\s*(?:[A-Z_]+=\S*\s+)*"
"""Where a shell command begins: a line's start, after && ; $( ( || then do, and variables."""

PLACEHOLDER = re.compile(r"^(<.*>|[A-Z][A-Z0-9_]*|\.\.\.|…|\$.*|\[.*\]|\{.*\})$")


def code_of(text: str) -> list[str]:
    """The code blocks (continued lines joined) and code spans of a markdown text."""
    found: list[str] = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M):
        found += [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    found += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
    return found


@cache
def tree() -> Any:
    """pkgctl's command tree (a click group: typer may bring its own click)."""
    command = typer.main.get_command(app)
    assert hasattr(command, "commands")
    return command


def _options(command: Any) -> set[str]:
    named = {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}
    return named | {"--help"}


def _words(code: str) -> list[str]:
    try:
        words = shlex.split(code, comments=True)
    except ValueError:
        words = code.split()
    ended: list[str] = []
    for word in words:
        if word in ("|", "&&", "||", ";", ")") or word.startswith(("#", ">", "2>")):
            break
        ended.append(word)
    return ended


def pkgctl_problems(code: str) -> list[str]:
    """What in `code` names a pkgctl command or flag pkgctl does not have."""
    problems = []
    for match in re.finditer(START + r"(?:uv run (?:--frozen )?|python -m )?pkgctl\s+(.*)", code):
        words = _words(match.group(1))
        command = tree()
        allowed = _options(command)
        path = ["pkgctl"]
        expect_value = False
        for word in words:
            if expect_value:
                expect_value = False
                continue
            if word.startswith("-"):
                flag = word.split("=")[0]
                if not re.fullmatch(r"--?[a-z][a-z0-9-]*", flag):
                    continue  # --[no-]x, --flag... : a pattern, not a flag
                if flag not in allowed:
                    problems.append(f"{' '.join(path)}: no option {flag}")
                else:
                    expect_value = flag == "--profile" and command is tree() and "=" not in word
                continue
            if hasattr(command, "commands"):
                if PLACEHOLDER.match(word) or not re.fullmatch(r"[a-z][a-z0-9-]*", word):
                    break  # `pkgctl COMMAND ...`, or not a command line (a diagram's)
                sub = command.commands.get(word)
                if sub is None:
                    problems.append(f"{' '.join(path)}: no command {word!r}")
                    break
                command, path = sub, [*path, word]
                allowed = allowed | _options(sub)
    return problems


@cache
def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:", text, flags=re.M))


def make_problems(code: str) -> list[str]:
    targets = make_targets()
    return [
        f"make {t}: no such target in the Makefile"
        for t in re.findall(START + r"make\s+([a-z][\w-]*)", code)
        if t not in targets
    ]


@cache
def ignored_patterns() -> list[str]:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [x.strip() for x in lines if x.strip() and not x.startswith("#")]


def _ignored(path: str) -> bool:
    for pattern in ignored_patterns():
        bare = pattern.rstrip("/")
        if (
            path == bare
            or path.startswith(bare + "/")
            or fnmatch.fnmatch(path.split("/")[-1], bare)
        ):
            return True
    return False


@cache
def top_level() -> set[str]:
    return {p.name for p in ROOT.iterdir() if not p.name.startswith(".git")} | {".ci", ".env"}


@cache
def package_roots() -> dict[str, Path]:
    """Python packages by name (pkgcontract/access.py is read as shared/src/pkgcontract/...)."""
    roots = [ROOT / "shared" / "src", ROOT / "tools" / "pkgctl" / "src"]
    roots += sorted((ROOT / "services").glob("*/src"))
    return {p.name: p.parent for r in roots for p in r.iterdir() if p.is_dir()}


def path_problems(code: str, base: Path = ROOT) -> list[str]:
    """Repository paths in `code` that the repository does not hold."""
    problems = []
    for token in re.findall(r"[\w.~${}<>*-]+(?:/[\w.${}<>*-]*)+", code):
        token = token.rstrip(".,:;")
        first = token.split("/")[0]
        if first in package_roots() and "." in token.split("/")[-1]:
            where = package_roots()[first]
        elif first in top_level():
            where = ROOT
        else:
            continue  # not a repository path (a URL's, another machine's, a topic's)
        if re.search(r"[<>{}$~]|\.\.\.", token) or _ignored(token):
            continue
        if "*" in token:
            if not list(where.glob(token.rstrip("/"))):
                problems.append(f"{token}: matches no file")
        elif not (where / token).exists():
            problems.append(f"{token}: no such file in the repository")
    return problems


def link_problems(text: str, doc: Path) -> list[str]:
    """Relative markdown links to files that do not exist."""
    problems = []
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        if not (doc.parent / target).exists():
            problems.append(f"link {target}: no such file")
    return problems


@cache
def configured_ports() -> set[int]:
    ports: set[int] = set()
    for path in CONFIGURING:
        text = path.read_text(encoding="utf-8", errors="replace")
        ports |= {int(n) for n in re.findall(r"(?<![\d.])(\d{4,5})(?![\d.])", text)}
    return {p for p in ports if 1024 <= p <= 65535}


def port_problems(code: str) -> list[str]:
    """Ports named in `code` (host:port, :port, ports A-B) that the project does not configure."""
    named: set[int] = set()
    named |= {
        int(p) for p in re.findall(r"(?:127\.0\.0\.1|localhost|kafka|0\.0\.0\.0):(\d{2,5})\b", code)
    }
    named |= {int(p) for p in re.findall(r"(?:^|[\s(,`]):(\d{4,5})\b", code)}
    named |= {int(p) for p in re.findall(r":-(\d{4,5})\}", code)}
    for a, b in re.findall(r"\b(\d{4,5})\s*[-\u2013]\s*:?(\d{4,5})\b", code):
        named |= {int(a), int(b)}
    return [
        f"port {p}: not configured by the project"
        for p in sorted(named)
        if p not in configured_ports()
    ]


def problems_of(doc: Path, text: str) -> list[str]:
    out = []
    for code in code_of(text):
        out += pkgctl_problems(code) + make_problems(code) + path_problems(code)
    out += port_problems(text) + link_problems(text, doc)
    return [f"{doc.relative_to(ROOT)}: {p}" for p in out]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_the_docs_name_only_what_exists(doc: Path) -> None:
    assert problems_of(doc, doc.read_text(encoding="utf-8")) == []


def test_the_checks_find_what_does_not_exist() -> None:
    """A document breaking each rule once, beside the same things done right."""
    broken = """
Run `pkgctl nosuch` and `pkgctl status --nope`, `pkgctl dlq lsit`, `make nothing`,
`scripts/no-such-script.sh`, `pkgcontract/nothing.py`, [gone](no-such.md), and
`127.0.0.1:12345`.

```bash
uv run pkgctl --profile compose tail 'billing.*' \\
    --customer acme --bogus-flag
```
"""
    right = """
`pkgctl --json status --watch`, `pkgctl --profile compose trace <id> --since 7d --max 10`,
`pkgctl dlq list`, `pkgctl COMMAND ...`, `make compose-up`, `scripts/compose-up.sh`,
`pkgcontract/access.py`, `.run/logs/<service>.log`, `.env`, [ops](operations.md),
`127.0.0.1:${KAFKA_PORT:-29092}`, `127.0.0.1:8081`, ports 8081-8084.
"""
    found = problems_of(ROOT / "docs" / "x.md", broken)
    assert sorted(found) == sorted(
        f"docs/x.md: {p}"
        for p in (
            "pkgctl: no command 'nosuch'",
            "pkgctl status: no option --nope",
            "pkgctl dlq: no command 'lsit'",
            "make nothing: no such target in the Makefile",
            "scripts/no-such-script.sh: no such file in the repository",
            "pkgcontract/nothing.py: no such file in the repository",
            "port 12345: not configured by the project",
            "pkgctl tail: no option --bogus-flag",
            "link no-such.md: no such file",
        )
    ), found
    assert problems_of(ROOT / "docs" / "x.md", right) == []
