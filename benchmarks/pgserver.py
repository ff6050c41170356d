"""A throwaway PostgreSQL cluster on loopback, for tests, benchmarks and `scripts/two_hosts.sh`.

`PgCluster(dir).start()` runs Debian's `initdb` (password auth, scram-sha-256) and `pg_ctl start`
on 127.0.0.1 at a free port; `.url` is the catalog URL (with the password), `.stop()` /
`.start()` restart it on the same port (the outage tests), `.destroy()` removes it. PostgreSQL
refuses to run as root: as root the binaries run as the `postgres` user (`runuser`), in a
directory that user owns. Durability is traded for speed (`fsync=off`): the cluster is thrown away.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.servers import free_port

log = logging.getLogger(__name__)

USER = "ct"
DATABASE = "ct_archive"


def pg_bin(name: str) -> str:
    """A PostgreSQL server binary (Debian keeps them out of PATH, under /usr/lib/postgresql/<v>/bin)."""
    for version in ("17", "16", "15"):
        p = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if p.exists():
            return str(p)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"PostgreSQL's {name} not found (apt-get install postgresql-15)")
    return found


def _postgres_can_enter(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(folder)], capture_output=True).returncode == 0


class PgCluster:
    def __init__(self, root: Path | None = None, port: int | None = None, password: str = "ct-secret") -> None:
        self._as_postgres = os.geteuid() == 0
        if root is not None and self._as_postgres and not _postgres_can_enter(Path(root).parent):
            log.warning("the postgres user cannot enter %s: the cluster goes under /tmp instead", Path(root).parent)
            root = None  # e.g. pytest's tmp_path under /tmp/pytest-of-root (mode 0700)
        self.root = Path(root or tempfile.mkdtemp(prefix="ct-pg-"))
        self.port = port or free_port()
        self.password = password
        self.data = self.root / "data"
        self.log = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *cmd: str, timeout: float = 120) -> None:
        full = ["runuser", "-u", "postgres", "--", *cmd] if self._as_postgres else list(cmd)
        done = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed ({done.returncode}): {(done.stderr or done.stdout)[-1500:]}")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", USER, "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync")
        pwfile.unlink()

    def start(self) -> PgCluster:
        if not self.data.exists():
            self.init()
            first = True
        else:
            first = False
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c fsync=off -c max_connections=200"
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")
        if first:
            import psycopg

            with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {DATABASE}")
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_server(root: Path | None = None) -> Iterator[PgCluster]:
    """A started cluster, destroyed when the block ends."""
    cluster = PgCluster(root)
    try:
        yield cluster.start()
    finally:
        cluster.destroy()
