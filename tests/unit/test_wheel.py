"""The wheel the image installs holds every package, the migrations and pkgctl, and pkgctl
runs from it (not from the sources this checkout has on the path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv builds the wheel")
def test_the_wheel_carries_pkgctl_and_the_migrations(tmp_path: Path) -> None:
    subprocess.run(
        ["uv", "build", "--wheel", "--quiet", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = ("pkgcontract", "pkgshared", "pkgtools", "catalog", "assignment", "charger")
    for package in (*packages, "allowance", "pkgctl"):
        assert f"{package}/__init__.py" in names, package
    for service in ("catalog", "assignment", "charger", "allowance"):
        sql = ROOT / "services" / service / "src" / service / "migrations"
        for migration in sql.glob("*.sql"):
            assert f"{service}/migrations/{migration.name}" in names
    assert "pkgshared/migrations/" in {n[: len("pkgshared/migrations/")] for n in names}
    assert not [n for n in names if n.startswith("pkgtools/testing/")], "test helpers shipped"

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import pkgctl.app; print(pkgctl.app.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(site))
    shown = subprocess.run(
        [sys.executable, "-m", "pkgctl", "--help"],
        env={**env, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "customer" in shown.stdout and "run-package" in shown.stdout
