"""The `ct-assistant` command: the parser and shared helpers (`main`), `chat`, `serve`/`feedback`;
`evals.cli` and `benchmarks.cli` register their own command groups.

May import: everything. Nothing in `assistant` imports `cli`.
"""
