"""A real PostgreSQL server for the tests, from Debian's ``postgresql`` package (scripts/install_postgres.sh).

``PostgresServer.start()`` runs initdb and pg_ctl in a new temporary directory,
as the ``postgres`` system user when the tests run as root (initdb refuses
root), listening on 127.0.0.1 only, on a free port, with password (SCRAM)
authentication. ``stop()`` ends it and removes the directory; a watchdog process
also stops it if the test process dies without a teardown, so no server
outlives its tests. Each test gets its own database (``create_database``).

Durability settings are off (fsync, synchronous_commit): these databases are
thrown away after the run, and the tests then spend their time on CQOx, not on
disk flushes.
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

#: initdb + start stay far below this on 2 shared cores; it only bounds a hang
START_TIMEOUT = 120


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    if which:
        return Path(which).resolve().parent
    raise RuntimeError("PostgreSQL's initdb is missing: run scripts/install_postgres.sh (make test does)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="cqox-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.user = "cqox"
        self.password = secrets.token_urlsafe(16)
        self.as_root = os.geteuid() == 0
        self._watchdog: subprocess.Popen | None = None

    # -- running commands as the server's owner ------------------------------
    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self.as_root else list(args)

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> None:
        out = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}\n"
                               + (self.log.read_text()[-3000:] if self.log.exists() else ""))

    @classmethod
    def start(cls) -> PostgresServer:
        server = cls()
        try:
            server._start()
        except BaseException:
            server.stop()
            raise
        return server

    def _start(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        os.chmod(pwfile, 0o600)
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user, "--pwfile", str(pwfile),
                  "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-instructions")
        pwfile.unlink()
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "90",
                  "-o", options, "start")
        self._start_watchdog()

    def _start_watchdog(self) -> None:
        """Stop the server once this process is gone (a killed pytest runs no teardown)."""
        script = (f"while [ -d /proc/{os.getpid()} ]; do sleep 2; done; "
                  f"{self.bindir / 'pg_ctl'} -D {self.data} -m immediate stop >/dev/null 2>&1; rm -rf {self.root}")
        self._watchdog = subprocess.Popen(self._cmd("sh", "-c", script), stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True)

    # -- lifecycle -------------------------------------------------------------
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server but keep its data (the 'database went away' fault); ``restart_server`` brings it back."""
        if self.running():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", timeout=60)

    def restart_server(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "90",
                  "-o", options, "start")

    def stop(self) -> None:
        try:
            if self.data.exists():
                self.stop_server("fast")
        finally:
            if self._watchdog is not None and self._watchdog.poll() is None:
                os.killpg(self._watchdog.pid, 15)  # our own watchdog, by its process group id
                self._watchdog.wait(timeout=10)
            shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _admin(self):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                               dbname="postgres", autocommit=True, connect_timeout=10)

    def create_database(self) -> str:
        name = f"cqox_{secrets.token_hex(6)}"
        with self._admin() as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        deadline = time.monotonic() + 30
        while True:
            try:
                with self._admin() as con:
                    con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except Exception:  # noqa: BLE001 - a server restarted by a fault test may still be starting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
