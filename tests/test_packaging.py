"""`pip install .` anywhere gives a working orbat: the wheel carries the catalogs and migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    try:
        import hatchling  # noqa: F401  (the build backend; pip would fetch it otherwise)
    except ImportError:
        pytest.skip("hatchling is not installed in this environment")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    return next(out.glob("orbat-*.whl"))


def test_wheel_contains_catalogs_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "orbat/catalogs/actors.yaml" in names
    assert any(n.startswith("orbat/catalogs/equipment/") and n.endswith(".yaml") for n in names)
    assert any(n.startswith("orbat/catalogs/doctrine/") for n in names)
    assert any(n.startswith("orbat/migrations/versions/") for n in names)


def test_installed_wheel_works_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    case = ROOT / "estimates" / "mali-2025-01-17" / "sightings.csv"
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "import orbat.datafiles, orbat.catalog, orbat.store, orbat.sightings, orbat.estimate\n"
        f"assert orbat.datafiles.bundled_catalog_dir().is_relative_to({str(site)!r}), orbat.datafiles.bundled_catalog_dir()\n"
        "cat = orbat.catalog.load_catalog()\n"
        f"frame = orbat.sightings.read_sightings({str(case)!r}, cat)\n"
        "with orbat.store.open_store('sqlite:///orbat.db') as store:\n"
        "    store.import_frame(frame)\n"
        "    back = store.sightings_frame()\n"
        "best = orbat.estimate.estimate_convoys(back, cat)[0].to_dict()['best']\n"
        "print(best['template'], len(cat))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    template, size = result.stdout.split()
    assert template == "expeditionary-btg" and int(size) >= 150
    assert (work / "orbat.db").exists()
