"""A throwaway PostgreSQL server for the tests, on 127.0.0.1 only.

    eval "$(.venv/bin/python tests/pgserver.py start)"   # exports ORBAT_TEST_PG_URL, ORBAT_TEST_PG_DIR
    .venv/bin/python -m pytest
    .venv/bin/python tests/pgserver.py stop              # uses ORBAT_TEST_PG_DIR (or give the dir)

``start`` finds ``initdb``/``pg_ctl`` (on PATH or in /usr/lib/postgresql/*/bin),
installs the Debian ``postgresql`` package with apt-get when they are missing
and we are root, runs ``initdb`` in a new temporary folder (as the
``postgres`` user when run as root: initdb refuses root), starts the server on
a free loopback port with trust authentication, creates the database
``orbat`` and prints shell ``export`` lines. ``stop`` stops the server and
removes the folder. The server is for tests only: fsync is off.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USER = "postgres"


def _log(message: str) -> None:
    print(f"pgserver: {message}", file=sys.stderr)


def find_bin() -> Path | None:
    """The folder holding pg_ctl and initdb, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    return None


def install() -> Path:
    """apt-get install postgresql (Debian/Ubuntu, as root), then find it."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("pgserver: PostgreSQL (initdb, pg_ctl) is not installed; "
                         "install it, e.g. apt-get install -y postgresql")
    _log("installing PostgreSQL with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env, stdout=sys.stderr)
    folder = find_bin()
    if folder is None:
        raise SystemExit("pgserver: PostgreSQL was installed but initdb/pg_ctl were not found")
    return folder


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """Run as the postgres user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", USER, "--", *cmd]
    return ["su", USER, "-s", "/bin/sh", "-c", shlex.join(cmd)]


def start() -> None:
    folder = find_bin() or install()
    base = Path(tempfile.mkdtemp(prefix="orbat-pg-"))
    data, sockets, log = base / "data", base / "sock", base / "server.log"
    data.mkdir()
    sockets.mkdir()
    if os.geteuid() == 0:
        import pwd

        entry = pwd.getpwnam(USER)
        for path in (base, data, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    base.chmod(0o755)
    subprocess.run(
        _as_postgres([str(folder / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
                      "--encoding=UTF8", "--locale=C.UTF-8"]),
        check=True, stdout=subprocess.DEVNULL, stderr=sys.stderr,
    )
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c synchronous_commit=off -c max_connections=200"
    subprocess.run(
        _as_postgres([str(folder / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w",
                      "-t", "60", "start"]),
        check=True, stdout=subprocess.DEVNULL, stderr=sys.stderr,
    )
    deadline = time.monotonic() + 30
    while True:
        created = subprocess.run(
            _as_postgres([str(folder / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, "orbat"])
            if (folder / "createdb").exists() else
            _as_postgres([str(folder / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", USER,
                          "-c", "CREATE DATABASE orbat"]),
            capture_output=True, text=True,
        )
        if created.returncode == 0:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"pgserver: could not create the database: {created.stderr.strip()}")
        time.sleep(0.5)
    url = f"postgresql+psycopg://{USER}@127.0.0.1:{port}/orbat"
    _log(f"PostgreSQL running at {url} (data in {data})")
    print(f"export ORBAT_TEST_PG_URL={shlex.quote(url)}")
    print(f"export ORBAT_TEST_PG_DIR={shlex.quote(str(base))}")


def stop(base_text: str | None) -> None:
    base_text = base_text or os.environ.get("ORBAT_TEST_PG_DIR")
    if not base_text:
        raise SystemExit("pgserver: which server? give its folder or set ORBAT_TEST_PG_DIR")
    base = Path(base_text)
    data = base / "data"
    if not base.name.startswith("orbat-pg-"):
        raise SystemExit(f"pgserver: {base} is not a folder made by pgserver start")
    folder = find_bin()
    if folder is not None and (data / "postmaster.pid").exists():
        subprocess.run(_as_postgres([str(folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                     "stop"]), stdout=subprocess.DEVNULL, stderr=sys.stderr)
    shutil.rmtree(base, ignore_errors=True)
    _log(f"stopped and removed {base}")


def main(argv: list[str]) -> None:
    if len(argv) >= 1 and argv[0] == "start":
        start()
    elif len(argv) >= 1 and argv[0] == "stop":
        stop(argv[1] if len(argv) > 1 else None)
    else:
        raise SystemExit("usage: pgserver.py start | stop [DIR]")


if __name__ == "__main__":
    main(sys.argv[1:])
