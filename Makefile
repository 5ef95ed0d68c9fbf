# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU wheel first: an unpinned torch would pull gigabytes of CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,web]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/latentlab demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider src tests

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# Figures the issues ask for; each script prints its own table (minutes each on 2 cores).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'  # PyOD, BM3D and scikit-image for the baselines, pmdarima's series
	$(BIN)/python benchmarks/reconstruction.py
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/amp_loss.py
	$(BIN)/python benchmarks/families.py
	$(BIN)/python benchmarks/anomaly.py
	$(BIN)/python benchmarks/impute.py
	$(BIN)/python benchmarks/compression.py
	$(BIN)/python benchmarks/likelihood.py
	$(BIN)/python benchmarks/clustering.py
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/timeseries.py --split test
	$(BIN)/python benchmarks/tabular_anomaly.py
	$(BIN)/python benchmarks/photos.py
	$(BIN)/python benchmarks/train_image_codec.py
	$(BIN)/python benchmarks/image_codec.py
	$(BIN)/python benchmarks/text.py
	$(BIN)/python benchmarks/disentanglement.py

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
