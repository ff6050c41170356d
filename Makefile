# The two set-up commands (see README):  make demo   |   make test
PYTHON ?= python3
PIP    := $(PYTHON) -m pip
# -qq: pip's errors only; its warnings about this machine's package configuration (index locations,
# running as root) are not the project's output. Each step prints one `==>` line.
PIP_QUIET := -qq --disable-pip-version-check
STORE  ?= data/store
# llama-cpp-python builds from source; the default native build dies with "Illegal instruction" here.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export GRADIO_ANALYTICS_ENABLED=False
export ANONYMIZED_TELEMETRY=False

.PHONY: install demo ingest test-deps test eval bench reader two-hosts clean

# Debian tesseract OCRs scanned PDF pages (ingest/pdf.py); without it such pages are skipped with a warning.
OCR_APT := tesseract-ocr tesseract-ocr-eng
# PostgreSQL server binaries: tests/store start a throwaway cluster (the shared catalog, issue 19)
PG_APT := postgresql-15

install:
	@echo "==> install: torch (CPU build), ct-assistant and its dependencies"
	@$(PIP) install $(PIP_QUIET) torch==2.13.0
	@$(PIP) install $(PIP_QUIET) -e .
	@command -v tesseract >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(OCR_APT) >/dev/null 2>&1) \
		|| echo "warning: could not install $(OCR_APT); scanned PDF pages will be skipped" >&2

ingest:
	@echo "==> ingest: data/corpus into $(STORE)"
	@ct-assistant ingest data/corpus --store $(STORE) --prune

# Main job: install, ingest the shipped corpus, answer, then start the chat UI.
demo: install ingest
	@echo "==> ask: Why did NACTA struggle with CTD integration?"
	@ct-assistant ask "Why did NACTA struggle with CTD integration?" --store $(STORE)
	@echo "==> serve: the chat UI (Ctrl+C to stop)"
	@ct-assistant serve --store $(STORE)

test-deps: install
	@echo "==> install: test dependencies (the first time llama-cpp-python compiles from source: minutes)"
	@$(PIP) install $(PIP_QUIET) -e ".[test]"
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null 2>&1) \
		|| (echo "error: apt-get install chromium failed (the browser tests need it)" >&2; exit 1)
	@command -v tesseract >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(OCR_APT) >/dev/null 2>&1) \
		|| (echo "error: apt-get install $(OCR_APT) failed (the OCR tests need it)" >&2; exit 1)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(PG_APT) >/dev/null)

test: test-deps
	@echo "==> test: python -m pytest -q"
	@$(PYTHON) -m pytest -q

eval: install ingest
	ct-assistant eval run --set evals/datasets/ct_editorials.jsonl --store $(STORE) --out reports/eval

bench: install
	ct-assistant bench all --quick

# The span reader's whole recipe (docs/reader.md): two stages on unseen windows (~150 min on 2 cores),
# then the operating points; writes assistant/answer/data/reader.npz. Each stage resumes from its checkpoints.
READER_WORK ?= $(HOME)/.cache/ct-assistant/train-reader
reader: install
	@$(PIP) install $(PIP_QUIET) -e ".[train]"
	@echo "==> reader stage 1: 72,000 windows, lr 1e-4"
	@$(PYTHON) -m evals.train_reader --out $(READER_WORK)/stage1.npz
	@echo "==> reader stage 2: the next 48,000 windows, lr 5e-5, from stage 1"
	@$(PYTHON) -m evals.train_reader --init $(READER_WORK)/stage1.npz --skip 72000 --examples 48000 --lr 5e-5
	@echo "==> reader operating points (SQuAD dev articles; CT dev set)"
	@$(PYTHON) -m evals.reader_eval --operating-point --limit 600 --topical-limit 200
	@$(PYTHON) -m evals.reader_eval --explain-point

# One archive, two hosts (docs/deployment.md): PostgreSQL + `chroma run` + two `serve` hosts on loopback, separate store dirs.
two-hosts: install
	$(PIP) install -q -e ".[postgres]"
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(PG_APT) >/dev/null)
	$(PYTHON) -m benchmarks.two_hosts

clean:
	rm -rf $(STORE) reports .pytest_cache
