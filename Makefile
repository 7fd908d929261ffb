# One command each: `make demo` (set up + run the main job on shipped examples), `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo demo-serve test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,opencl]'
	touch $(STAMP)

# Inspect two example nodes and a 1.4-era one, then merge all three into a fresh temporary node.
demo: setup
	@set -e; out=$$(mktemp -d)/node; \
	$(BIN)/mergetool inspect fixtures/node-a; echo; \
	$(BIN)/merge-nodes --from fixtures/node-a --to $$out --dry-run; echo; \
	$(BIN)/merge-nodes --from fixtures/node-a --to $$out; echo; \
	$(BIN)/merge-nodes --from fixtures/node-b --to $$out; echo; \
	$(BIN)/merge-nodes --from fixtures/node-v5 --to $$out; echo; \
	$(BIN)/mergetool inspect $$out; \
	echo; echo "Merged node left in $$out (the examples under fixtures/ are unchanged)."

# A stand-in node, `mergetool serve` and the operator page on tiny example data; Ctrl-C stops.
demo-serve: setup
	PYTHONPATH=$(CURDIR) $(BIN)/python scripts/demo_serve.py

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
