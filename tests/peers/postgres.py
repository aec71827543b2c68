"""A real PostgreSQL server (Debian's `postgresql` package) in a temporary directory, for the hub tests.

`initdb` makes a throw-away cluster (trust authentication, loopback only); `postgres` listens on a free
127.0.0.1 port and on a unix socket inside the same directory, so nothing on the machine is touched.
PostgreSQL refuses to run as root, so when the tests run as root the server runs as `nobody` (via
`runuser`), owning the directory. One server is shared by a test session; each test gets a database of
its own (`new_database`), which costs a CREATE DATABASE, not a server start.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from sim.ports import free_port, wait_for_listener

SUPERUSER = "hub"


class PostgresNotInstalled(RuntimeError):
    pass


def _binaries() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise PostgresNotInstalled("PostgreSQL is not installed (Debian package `postgresql`)")
    return Path(candidates[-1]).parent


class PostgresServer:
    def __init__(self) -> None:
        self.bin = _binaries()
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="venue-hub-pg-"))
        self.datadir = self.workdir / "data"
        self.log_path = self.workdir / "postgres.log"
        self._as_other_user = os.geteuid() == 0
        self._process: subprocess.Popen[bytes] | None = None

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", "nobody", "--", *args] if self._as_other_user else list(args)

    def start(self) -> PostgresServer:
        if self._as_other_user:
            shutil.chown(self.workdir, "nobody", "nogroup")
        subprocess.run(
            self._command(
                str(self.bin / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        with self.log_path.open("ab") as log:
            if self._as_other_user:
                shutil.chown(self.log_path, "nobody", "nogroup")
            self._process = subprocess.Popen(
                self._command(
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.datadir),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(self.workdir),
                    "-c",
                    "fsync=off",  # a test cluster: durability across power loss is not under test
                    "-c",
                    "max_connections=200",
                ),
                stdout=log,
                stderr=log,
            )
        try:
            wait_for_listener(self.port, timeout_s=30)
            self._wait_ready()
        except Exception:
            self.close()
            raise
        return self

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """A SQLAlchemy URL as a hub config names it."""
        return self.dsn(database)

    def new_database(self, prefix: str = "hub") -> str:
        """CREATE a fresh database; returns its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            # "fast" shutdown: end the sessions a test left open instead of waiting for them.
            subprocess.run(
                self._command(str(self.bin / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "fast", "-w"),
                capture_output=True,
                timeout=30,
                check=False,
            )
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
        with contextlib.suppress(OSError):
            shutil.rmtree(self.workdir)


_shared: PostgresServer | None = None


def shared_server() -> PostgresServer:
    """One server per test process (each xdist worker has its own), stopped when the process exits.

    A module-level singleton rather than a conftest fixture, so every hub test module — whoever owns
    it — shares the same server by calling this (or using the fixtures below)."""
    global _shared
    if _shared is None:
        import atexit

        _shared = PostgresServer().start()
        atexit.register(_shared.close)
    return _shared


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    try:
        return shared_server()
    except PostgresNotInstalled as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_backend(request: pytest.FixtureRequest) -> str:
    """`sqlite` or `postgresql`. Module-scoped, so pytest runs a module's tests backend by backend
    (all on SQLite, then all on PostgreSQL) and module-scoped peers are set up once for both."""
    return request.param


@pytest.fixture
def database_url(database_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on the embedded SQLite and on a real PostgreSQL (a fresh database each)."""
    if database_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    return request.getfixturevalue("postgres").new_database()
