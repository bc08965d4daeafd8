# Awareness Leaderboard: `make` alone lists the targets.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8501

.DEFAULT_GOAL := help
.PHONY: help run demo-live test lint build demo clean bench-load bench-score bench-wall bench-live bench-desk

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

run: $(STAMP) ## serve the dashboard on $(HOST):$(PORT), build the demo if needed, watch the inbox
	$(PY) -m dashboard.launch --host $(HOST) --port $(PORT)

demo-live: $(STAMP) ## make run, plus new demo activity dripped into the inbox (6 files a minute)
	$(PY) -m dashboard.launch --host $(HOST) --port $(PORT) --simulate $(or $(RATE),6)

test: $(STAMP) ## run the whole test suite
	$(PY) -m pytest

lint: $(STAMP) ## ruff over the code
	$(VENV)/bin/ruff check .

build: $(STAMP) ## demo (if no warehouse) -> load -> score -> publish, no server
	$(PY) -m pipelines build

demo: $(STAMP) ## regenerate the demo input files under data/demo/
	$(PY) -m pipelines demo --force

bench-load: $(STAMP) ## loader vs raw DuckDB read_csv on 1M and 5M generated contacts
	$(PY) -m bench.bench_load
	$(PY) -m bench.bench_load --taiwan
	$(PY) -m bench.bench_load --bank-crm

bench-score: $(STAMP) ## full and incremental rescore of 5M generated events vs plain DuckDB
	$(PY) -m bench.bench_score --weeks 26
	$(PY) -m bench.bench_score --weeks 52

bench-wall: $(STAMP) ## wall screen at 5M events: time per refresh, server memory over an hour
	$(PY) -m bench.bench_wall

bench-live: $(STAMP) ## file dropped into the inbox -> published -> on a wall in Chromium, at 5M events
	$(PY) -m bench.bench_live

bench-desk: $(STAMP) ## person page, team page and leaderboard at 5M events: server time, chart points
	$(PY) -m bench.bench_desk

# where the pipelines keep their files: AWARENESS_DATA if set, as in pipelines/config.py
DATA := $(or $(AWARENESS_DATA),data)

clean: ## remove the generated warehouse, snapshots and demo files under $AWARENESS_DATA or data/ (keeps .venv)
	rm -rf "$(DATA)"/*.duckdb "$(DATA)"/*.duckdb.wal "$(DATA)/snapshots" "$(DATA)/demo" \
		"$(DATA)/.cache" "$(DATA)/badges" "$(DATA)/exports"
