# The two set-up commands (see README):  make demo   |   make test
PYTHON ?= python3
PIP    := $(PYTHON) -m pip
STORE  ?= data/store
# llama-cpp-python builds from source; the default native build dies with "Illegal instruction" here.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export GRADIO_ANALYTICS_ENABLED=False
export ANONYMIZED_TELEMETRY=False

.PHONY: install demo ingest test-deps test eval bench clean

# Debian tesseract OCRs scanned PDF pages (ingest/pdf.py); without it such pages are skipped with a warning.
OCR_APT := tesseract-ocr tesseract-ocr-eng

install:
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .
	command -v tesseract >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(OCR_APT) >/dev/null) \
		|| echo "warning: could not install $(OCR_APT); scanned PDF pages will be skipped" >&2

ingest:
	ct-assistant ingest data/corpus --store $(STORE) --prune

# Main job: install, ingest the shipped corpus, answer, then start the chat UI.
demo: install ingest
	ct-assistant ask "Why did NACTA struggle with CTD integration?" --store $(STORE)
	ct-assistant serve --store $(STORE)

test-deps: install
	$(PIP) install -q -e ".[test]"
	command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	command -v tesseract >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(OCR_APT) >/dev/null)

test: test-deps
	$(PYTHON) -m pytest -q

eval: install ingest
	ct-assistant eval run --set evals/datasets/ct_editorials.jsonl --store $(STORE) --out reports/eval

bench: install
	ct-assistant bench all --quick

clean:
	rm -rf $(STORE) reports .pytest_cache
