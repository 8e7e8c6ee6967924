# One-command entry points. `make test` and `make demo` create .venv and install when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: install test test-fast demo lint bench learning clean docs gpu-check keypoints

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# MediaPipe Holistic for data.keypoints: mediapipe, beside the main install. mediapipe 0.10.21 is the last release
# whose wheel ships the Holistic, hand and pose models; --no-deps because its declared dependencies would replace
# numpy 2 with 1.x and put opencv-contrib into opencv-headless's cv2/ folder. protobuf<5 and attrs are all it needs
# here (matplotlib is a main dependency); scikit-image ships the real photograph its tests read (astronaut).
# pip's resolver then warns that mediapipe wants numpy<2: expected, and harmless for the parts isltk uses.
KEYPOINTS_STAMP := $(VENV)/.keypoints
$(KEYPOINTS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps "mediapipe==0.10.21"
	$(BIN)/python -m pip install --quiet "protobuf>=4.25.3,<5" "attrs>=19.1" "scikit-image>=0.24"
	$(BIN)/python -c "import mediapipe, numpy; assert numpy.__version__ >= '2', numpy.__version__; mediapipe.solutions.holistic.Holistic(model_complexity=1).close()"
	touch $(KEYPOINTS_STAMP)

keypoints: $(KEYPOINTS_STAMP)

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
