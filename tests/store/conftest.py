"""Real servers for the shared-catalog tests: one throwaway PostgreSQL cluster and one `chroma run`
per session; each test gets a database and a Chroma collection of its own (an empty archive)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks import servers
from tests.conftest import missing

_names = itertools.count(1)


@dataclass
class Archive:
    """One shared archive: a catalog database and a Chroma collection; hosts are store dirs."""

    url: str
    chroma_host: str
    chroma_port: int
    collection: str

    def settings(self, store: Path, **over: object):  # type: ignore[no-untyped-def]
        from assistant.config import Settings

        return Settings(
            store=store, catalog_url=self.url, chroma_host=self.chroma_host, chroma_port=self.chroma_port, collection=self.collection, **over
        )  # type: ignore[arg-type]

    def env(self, store: Path) -> dict[str, str]:
        return {
            "CT_ASSISTANT_STORE": str(store), "CT_ASSISTANT_CATALOG_URL": self.url, "CT_ASSISTANT_CHROMA_HOST": self.chroma_host,
            "CT_ASSISTANT_CHROMA_PORT": str(self.chroma_port), "CT_ASSISTANT_COLLECTION": self.collection,
        }  # fmt: skip

    def catalog(self):  # type: ignore[no-untyped-def]
        from assistant.store.pg_catalog import PostgresCatalog

        return PostgresCatalog(self.url)

    def chroma_ids(self) -> set[str]:
        import chromadb

        col = chromadb.HttpClient(host=self.chroma_host, port=self.chroma_port).get_collection(self.collection)
        return set(col.get(include=[])["ids"])


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    from benchmarks.pgserver import pg_bin, postgres_server

    try:
        pg_bin("initdb")
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except (FileNotFoundError, ImportError) as exc:
        missing(f"PostgreSQL or psycopg missing ({exc}); `make test-deps` installs postgresql-15 and psycopg[binary,pool]")
    with postgres_server() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def shared_chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    with servers.chroma_server(tmp_path_factory.mktemp("pg-chroma") / "chroma", timeout=90) as address:
        yield address


@pytest.fixture
def archive(pg_cluster, shared_chroma) -> Archive:  # type: ignore[no-untyped-def]
    import psycopg

    name = f"archive_{os.getpid()}_{next(_names)}"
    admin = pg_cluster.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return Archive(pg_cluster.url.rsplit("/", 1)[0] + f"/{name}", *shared_chroma, collection=name)
