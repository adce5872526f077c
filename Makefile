# The two set-up commands of the README: `make demo` and `make test`.
# Everything else here serves them (or `make bench`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CASE   := estimates/mali-2025-01-17
OUT    := out

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# The main job on the bundled Mali case, with the embedded SQLite default
# (orbat.db in the working directory, here $(OUT)/).
demo: $(STAMP)
	mkdir -p $(OUT)
	rm -f $(OUT)/orbat.db $(OUT)/orbat.db-wal $(OUT)/orbat.db-shm
	cd $(OUT) && ../$(BIN)/orbat catalog show "Т-72Б3"
	cd $(OUT) && ../$(BIN)/orbat import ../$(CASE)/sightings.csv
	cd $(OUT) && ../$(BIN)/orbat import ../estimates/mali-ledger/sightings.csv
	cd $(OUT) && ../$(BIN)/orbat estimate --convoy bamako-2025-01-17
	cd $(OUT) && ../$(BIN)/orbat inventory --actor "Africa Corps" --as-of 2025-06-30
	cd $(OUT) && ../$(BIN)/orbat export mali-2025-01-17.xlsx
	cd $(OUT) && ../$(BIN)/orbat report convoy bamako-2025-01-17 --out bamako-2025-01-17.md
	@echo "make demo: wrote $(OUT)/mali-2025-01-17.xlsx and $(OUT)/bamako-2025-01-17.md from $(OUT)/orbat.db"

# A throwaway PostgreSQL server on 127.0.0.1 runs the PostgreSQL half of the
# suite (tests/pgserver.py installs Debian's postgresql when it is missing and
# we are root). Without one, those tests skip locally; under CI they fail.
# One shell, so the trap stops the server even when pytest fails.
test: $(STAMP)
	@if [ -z "$$ORBAT_TEST_PG_URL" ] && pg_env="$$($(BIN)/python tests/pgserver.py start)"; then \
	  eval "$$pg_env"; \
	  trap '$(BIN)/python tests/pgserver.py stop' EXIT; \
	else \
	  [ -n "$$ORBAT_TEST_PG_URL" ] || echo "make test: no PostgreSQL server; its tests will skip (CI fails them)" >&2; \
	fi; \
	$(BIN)/python -m pytest

# The benchmark suite: each step beside the bare library under it, in the same run
# (a few minutes; BENCH="--full" adds 1M rows). Reports, never fails on noise.
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH)
	$(BIN)/python -m benchmarks.maps
	$(BIN)/python -m benchmarks.fleet_coverage --markdown

clean:
	rm -rf $(OUT) .pytest_cache .hypothesis
