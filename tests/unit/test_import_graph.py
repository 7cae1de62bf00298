"""No import circle among the project's modules: every module imports at load time only modules
that do not, in turn, import it back. An import inside a function (or under TYPE_CHECKING) is
not counted, so this checks what a circle would break: loading a module alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    ROOT / "shared" / "src",
    ROOT / "tools" / "pkgctl" / "src",
    *sorted((ROOT / "services").glob("*/src")),
]


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for src in SOURCES:
        for path in src.rglob("*.py"):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def load_time_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports when it loads (module level, try and if blocks
    included, TYPE_CHECKING blocks and function bodies left out)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.add(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                found.add(base)
                # `from pkg import module` imports the module too.
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(ast.parse(path.read_text()).body)
    return {m for m in found if m in known and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return found


def test_the_checker_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back_at_load_time() -> None:
    known = modules()
    assert "pkgcontract.topics" in known and "charger.bootstrap" in known
    # A package imports its own __init__ when any of its modules loads: not a circle.
    graph = {
        name: {m for m in load_time_imports(name, path, set(known)) if not name.startswith(m + ".")}
        for name, path in known.items()
    }
    assert cycles(graph) == []


def test_topic_names_load_without_a_kafka_client() -> None:
    imports = load_time_imports(
        "pkgcontract.topics", modules()["pkgcontract.topics"], set(modules()) | {"aiokafka"}
    )
    assert imports == set()


def test_no_module_is_named_as_a_name_its_package_exports() -> None:
    # Importing `pkg.x` sets the attribute `pkg.x` to the module, over a function `x` that
    # `pkg/__init__.py` exported: callers of the function then call a module.
    known = modules()
    clashes = []
    for name, path in known.items():
        if path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        exported = {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level
            for alias in node.names
        }
        for child in (path.parent).glob("*.py"):
            if child.stem in exported and f"{name}.{child.stem}" in known:
                imported_module = any(
                    isinstance(node, ast.ImportFrom)
                    and node.level == 1
                    and node.module is None
                    and any(a.name == child.stem for a in node.names)
                    for node in tree.body
                )
                if not imported_module:
                    clashes.append(f"{name}.{child.stem}")
    assert clashes == []


# Which top-level packages each layer may import. The contract stands alone; the chassis builds
# on the contract; the services on both; tooling (pkgctl, pkgtools) on any of them. No service
# imports another service or the tooling. Imports inside functions count here: a dependency is
# a dependency wherever it is written.
SERVICES = {"catalog", "assignment", "charger", "allowance"}
ALLOWED = {
    "pkgcontract": {"pkgcontract"},
    "pkgshared": {"pkgcontract", "pkgshared"},
    **{service: {"pkgcontract", "pkgshared", service} for service in SERVICES},
    "pkgtools": {"pkgcontract", "pkgshared", "pkgtools"},
    "pkgctl": {"pkgcontract", "pkgshared", "pkgtools", "pkgctl"},
}


def all_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module)
    return found


def layer_violations(known: dict[str, Path]) -> list[str]:
    violations = []
    for name, path in known.items():
        layer = name.split(".")[0]
        for imported in all_imports(path):
            top = imported.split(".")[0]
            if top in ALLOWED and top not in ALLOWED[layer]:
                violations.append(f"{name} imports {imported}")
    return sorted(violations)


def test_the_layer_checker_finds_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "model.py"
    bad.write_text("def f():\n    from pkgshared.db import connect\n")
    assert layer_violations({"pkgcontract.model": bad}) == [
        "pkgcontract.model imports pkgshared.db"
    ]


def test_the_contract_stands_alone_and_each_layer_imports_only_below_it() -> None:
    known = modules()
    assert {name.split(".")[0] for name in known} == set(ALLOWED)
    assert layer_violations(known) == []


def test_the_contract_needs_only_pydantic_beside_the_standard_library() -> None:
    import sys

    third_party = (
        {
            imported.split(".")[0]
            for name, path in modules().items()
            if name.split(".")[0] == "pkgcontract"
            for imported in all_imports(path)
        }
        - set(sys.stdlib_module_names)
        - {"pkgcontract", "__future__"}
    )
    assert third_party <= {"pydantic", "pydantic_core", "typing_extensions"}
