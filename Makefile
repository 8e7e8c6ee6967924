# One-command entry points. `make test` and `make demo` create .venv and install when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: install test test-fast demo lint bench learning clean docs gpu-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -x

# Leaves out the slow tests (the benchmark smoke runs).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -x -m "not slow"

# The config reference, generated from the config's field descriptions (tests/test_docs.py keeps it current).
docs: $(STAMP)
	$(BIN)/python -c "from isltk.config_reference import markdown; open('docs/config.md', 'w', encoding='utf-8').write(markdown())"

lint: $(STAMP)
	$(BIN)/ruff check isltk tests benchmarks

TINY := --config configs/tiny.yaml --set data.video_dir=$(DEMO_DIR)/corpus/videos \
	--set data.csv_path=$(DEMO_DIR)/corpus/sentences.csv --set data.prepared_dir=$(DEMO_DIR)/prepared

# synth -> prepare -> train (tiny, CPU) -> evaluate on the unseen test sentences -> translate one clip
demo: $(STAMP)
	$(BIN)/isltk synth $(DEMO_DIR)/corpus --style simple
	$(BIN)/isltk prepare $(TINY)
	rm -rf $(DEMO_DIR)/run
	$(BIN)/isltk train $(TINY) --out $(DEMO_DIR)/run
	$(BIN)/isltk evaluate --checkpoint $(DEMO_DIR)/run --split test --report
	$(BIN)/isltk translate $(DEMO_DIR)/corpus/videos/test_00000.mp4 --checkpoint $(DEMO_DIR)/run
	@grep '^test_00000.mp4' $(DEMO_DIR)/corpus/sentences.csv | cut -d, -f2 | sed 's/^/reference: /'

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_prepare.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache

# The learning test: realistic synthetic signing (unseen signers), configs/signing.yaml, ~25 min on 2 cores.
learning: $(STAMP)
	$(BIN)/python benchmarks/bench_learning.py

# Every GPU figure in one call (benchmarks/bench_gpu_check.py): writes gpu_check.json/.md to $OUT or ./gpu-check.
# DRY=1 runs the same parts at tiny sizes on the CPU.
gpu-check: $(STAMP)
	$(BIN)/python benchmarks/bench_gpu_check.py $(if $(DRY),--dry,)
