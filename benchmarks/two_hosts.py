"""One archive, two hosts, on loopback: PostgreSQL (the catalog), `chroma run` (the vectors) and two
`ct-assistant serve` hosts with separate store directories (no shared disk between them).

    python -m benchmarks.two_hosts [--work DIR] [--corpus DIR] [--check]     (`make two-hosts`)

Starts a throwaway PostgreSQL cluster (Debian postgresql-15; as the `postgres` user when run as
root) and `chroma run`, ingests the corpus through host A (`ct-assistant ingest`), starts
`serve` on host A and host B, and asks host B's `/ask` API a question about what host A
ingested. Prints the commands and URLs, then keeps everything running until Ctrl-C; `--check`
stops after the answer (exit 0 when host B answered with an exact quote).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from benchmarks.pgserver import PgCluster
from benchmarks.servers import chroma_server, free_port, running

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "How much did the KP cabinet authorize for police equipment?"


def _env(url: str, host: str, port: int, store: Path) -> dict[str, str]:
    return {
        **os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False", "CT_ASSISTANT_STORE": str(store),
        "CT_ASSISTANT_CATALOG_URL": url, "CT_ASSISTANT_CHROMA_HOST": host, "CT_ASSISTANT_CHROMA_PORT": str(port),
    }  # fmt: skip


def _ask(ui_port: int, question: str) -> dict:
    import gradio_client

    ans = gradio_client.Client(f"http://127.0.0.1:{ui_port}/", verbose=False).predict(question, None, None, api_name="/ask")
    return json.loads(ans) if isinstance(ans, str) else ans


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.two_hosts", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/ct-two-hosts"), help="where the cluster, Chroma and the two store dirs go")
    p.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    p.add_argument("--check", action="store_true", help="stop after host B has answered (for tests and CI)")
    args = p.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    pg = PgCluster(work / "postgres")
    if pg.data.exists():
        pg.stop("immediate")
    with ExitStack() as stack:
        pg.start()
        stack.callback(pg.stop if pg.root == work / "postgres" else pg.destroy)  # a fallback temporary cluster is removed
        host, port = stack.enter_context(chroma_server(work / "chroma", timeout=120))
        print(f"PostgreSQL  {pg.url.replace(pg.password, '***')}  (data {pg.data})")
        print(f"Chroma      http://{host}:{port}  (data {work / 'chroma'})")
        stores = {"A": work / "host-a", "B": work / "host-b"}
        env_a = _env(pg.url, host, port, stores["A"])
        done = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(args.corpus), "--json"], env=env_a, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"ingest on host A failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
        print(f"host A ingested {args.corpus}: {done.stdout.strip()}")
        ui = {}
        for name, store in stores.items():
            ui[name] = free_port()
            cmd = [sys.executable, "-m", "assistant", "serve", "--port", str(ui[name])]
            stack.enter_context(running(cmd, log_path=work / f"serve-{name}.log", port=ui[name], env=_env(pg.url, host, port, store), cwd=ROOT, timeout=300))
            print(f"host {name}      http://127.0.0.1:{ui[name]}/  (store dir {store}, log {work / f'serve-{name}.log'})")
        ans = _ask(ui["B"], QUESTION)
        print(f"host B answers {QUESTION!r}: {ans['answer']}")
        if ans["refused"] or not ans["citations"]:
            return 1
        from assistant.store.pg_catalog import PostgresCatalog

        catalog = PostgresCatalog(pg.url)
        try:  # the quote is the catalog's text at the cited offsets
            exact = all(catalog.document(c["doc_id"]).text[c["start"] : c["end"]] == c["quote"] for c in ans["citations"])  # type: ignore[union-attr]
        finally:
            catalog.close()
        print(f"exact quotes: {exact}")
        if not exact:
            return 1
        if args.check:
            return 0
        print("running; Ctrl-C stops PostgreSQL, Chroma and both hosts")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
