"""`python -m evals run|judge|scifact|compare ...` == `ct-assistant eval ...`."""

from __future__ import annotations

import sys

from assistant.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main(["eval", *sys.argv[1:]]))
