# rasid: the table of contents. `make train` and `make test` set up the environment on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RASID := $(VENV)/bin/rasid
CONFIG ?= configs/train.yaml
RUN ?= runs/default
BUNDLE ?= bundles/default
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

LS_VENV := .venv-ls
LS_STAMP := $(LS_VENV)/.installed

.PHONY: help setup system-deps labelstudio-env train train-quick pretrain distil compare-encoders evaluate predict export serve test test-fast lint bench bench-quick labelstudio clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/' | column -t -s $$'\t'

$(STAMP): requirements/train.txt pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@# torch first and pinned, so that nothing can resolve a CUDA build
	$(VENV)/bin/pip install -q --disable-pip-version-check torch==2.13.0
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements/train.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

setup: $(STAMP)  ## create .venv with the pinned dependencies

$(LS_STAMP):
	@# Label Studio pins its own versions (pyarrow, Django...): it lives in a separate env
	@test -d $(LS_VENV) || $(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install -q --disable-pip-version-check label-studio==1.23.2
	@touch $@

labelstudio-env: $(LS_STAMP)  ## install Label Studio 1.23.2 in its own env (.venv-ls, ~1 GB)

system-deps:  ## Debian packages for the browser tests (headless Chromium, Arabic fonts); needs root
	@command -v chromium >/dev/null && fc-list | grep -qi "Noto Naskh Arabic" || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-core >/dev/null; }

train: $(STAMP)  ## fine-tune on the shipped data (entities, then relations) and evaluate on the held-out split
	$(RASID) train --config $(CONFIG) --output $(RUN)

train-quick: $(STAMP)  ## a 2-minute run for a first look
	$(RASID) train --config configs/quick.yaml --output runs/quick

pretrain: $(STAMP)  ## adapt e5-small-ar to Arabic news (masked-LM, ≤ 2 h on this CPU, resumable) → runs/pretrain/rasid-ar/encoder
	$(RASID) pretrain --config configs/pretrain.yaml

distil: $(STAMP)  ## distil rasid-ar into 6 layers (hidden-state MSE, resumable) → runs/distil/rasid-ar-6/encoder
	$(RASID) distil --config configs/distil.yaml

compare-encoders: $(STAMP)  ## scratch / e5-small / e5-small-ar / rasid-ar side by side (hours on a CPU; docs/encoders.md)
	$(RASID) compare-encoders --config configs/compare-encoders.yaml

evaluate: $(STAMP)  ## score $(RUN) on the test split, write $(RUN)/report.json
	$(RASID) evaluate --model $(RUN) --data data/gold/test.jsonl --output $(RUN)/report.json

export: $(STAMP)  ## export $(RUN) to a self-contained bundle in $(BUNDLE)
	$(RASID) export $(RUN) $(BUNDLE)

serve: $(STAMP)  ## serve $(BUNDLE) over HTTP on 127.0.0.1:8000 (VARIANT=int8 for the quantized graphs)
	$(RASID) serve --model $(BUNDLE) $(if $(VARIANT),--variant $(VARIANT))

labelstudio: $(STAMP) $(LS_STAMP)  ## start Label Studio on 127.0.0.1:8080, project pre-annotated by runs/default if trained (LS_ARGS="--model X")
	$(RASID) labelstudio up $(LS_ARGS)

bench: $(STAMP)  ## benchmarks vs baselines (about 20 min): results/bench/{bench.json,bench.md,*.png}
	$(PY) scripts/bench.py --config configs/bench.yaml --output results/bench

bench-quick: $(STAMP)  ## the same pipeline on a few articles with a tiny encoder (about 2 min)
	$(PY) scripts/bench.py --quick --output results/bench-quick

test: $(STAMP) $(LS_STAMP)  ## everything: lint, unit, property and integration tests (real servers included)
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/pytest -q

test-fast: $(STAMP)  ## the inner loop: everything not marked slow
	$(VENV)/bin/pytest -q -m "not slow" -x

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts

clean:  ## remove runs, bundles and caches (keeps .venv and models/)
	rm -rf runs bundles results .pytest_cache .ruff_cache
