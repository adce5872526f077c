"""The command line's process keeps freed memory for its next arrays (glibc's fixed thresholds)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from orbat import heap


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="mallopt is glibc's")
def test_the_thresholds_are_set_on_glibc():
    # In a process of its own: the setting is for the process, and the tests' is left as it was.
    code = "from orbat.heap import keep_freed_memory; print(keep_freed_memory())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_elsewhere_nothing_is_set(monkeypatch):
    monkeypatch.setattr(heap.sys, "platform", "darwin")
    assert heap.keep_freed_memory() is False


def test_the_console_script_sets_them_first(monkeypatch):
    import orbat.__main__ as entry
    import orbat.cli

    calls = []
    monkeypatch.setattr(heap, "keep_freed_memory", lambda: calls.append("heap"))
    monkeypatch.setattr(orbat.cli, "app", lambda **_: calls.append("app"), raising=False)
    monkeypatch.setattr(sys, "argv", ["orbat", "--version"])
    entry.main()
    assert calls == ["heap", "app"]
