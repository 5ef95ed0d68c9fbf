# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench tables clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU wheel first: an unpinned torch would pull gigabytes of CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,web]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/latentlab demo

# Everything (CI runs this), then the 20 slowest tests.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=20 src tests

# The edit loop: everything not marked slow (no long training, processes, servers or browser), src doctests
# included; under 2 minutes on 2 cores.
.PHONY: test-fast
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" src tests

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# Figures the issues ask for; each script prints its tables and writes its record to benchmarks/results/
# (benchmarks/_record.py; minutes to hours each on 2 cores). `make tables` then puts the tables in the docs.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'  # PyOD, BM3D and scikit-image for the baselines, pmdarima's series
	$(BIN)/python benchmarks/reconstruction.py
	$(BIN)/python benchmarks/speed.py --epochs 3 --rounds 2 --sustained 20  # on a quiet machine
	$(BIN)/python benchmarks/amp_loss.py
	$(BIN)/python benchmarks/families.py
	$(BIN)/python benchmarks/anomaly.py
	$(BIN)/python benchmarks/impute.py --part tuning --imputers latentlab --baselines-from benchmarks/results/impute-tuning.json  # as its record was made
	$(BIN)/python benchmarks/impute.py --part report  # the report half: run once, after tuning (docstring)
	$(BIN)/python benchmarks/compression.py
	$(BIN)/python benchmarks/likelihood.py
	$(BIN)/python benchmarks/clustering.py
	$(BIN)/python benchmarks/clustering.py --protocol held-out
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/soak.py
	$(BIN)/python benchmarks/mnist_vae.py --download
	$(BIN)/python benchmarks/timeseries.py --split test --variants default previous
	$(BIN)/python benchmarks/tabular_anomaly.py
	$(BIN)/python benchmarks/tabular_anomaly_steps.py
	$(BIN)/python benchmarks/tabular_anomaly_dev.py
	$(BIN)/python benchmarks/adbench.py --part report  # the report half: once, after tuning (docstring)
	$(BIN)/python benchmarks/photos.py --budget 300
	$(BIN)/python benchmarks/photos.py --reuse
	$(BIN)/python benchmarks/photos.py --amp-check 60
	$(BIN)/python benchmarks/denoise_colour.py  # how the shipped grey denoiser cleans colour photos
	$(BIN)/python benchmarks/denoise_command.py  # the whole `latentlab denoise` command, onnxruntime and torch; quiet machine
	$(BIN)/python benchmarks/denoise_standard.py  # the shipped denoiser (benchmarks/recipes/denoiser.py trains it) on BSD68 and Set12
	$(BIN)/python benchmarks/denoise_standard.py --ensemble 8
	$(BIN)/python benchmarks/train_image_codec.py  # the first codec's protocol (docs/image_codec.md)
	$(BIN)/python benchmarks/train_image_codec.py --resume runs/image_codec/model --epochs 10 --lr 5e-4
	$(BIN)/python benchmarks/image_codec_skimage.py
	$(BIN)/python benchmarks/image_codec.py  # the shipped codec (benchmarks/recipes/codec.py trains it) on BSD68 and Set12
	$(BIN)/python benchmarks/text.py --validate --save runs/text-models
	$(BIN)/python benchmarks/text.py --load runs/text-models
	$(BIN)/python benchmarks/disentanglement.py
	$(BIN)/python benchmarks/factorvae_diagnostics.py
	$(BIN)/python benchmarks/hostile.py
	$(BIN)/python benchmarks/image_anomalies.py
	$(MAKE) bench-tsbad-env
	$(BIN)/python benchmarks/tsbad.py --part report  # the report part, run once after tuning (docstring); --part tuning for the tuning part

# TSB-AD (its detectors and metrics, for benchmarks/tsbad.py) in the project's own venv, so that its detectors and
# latentlab run in one process on the same NumPy. Its wheel pins numpy<2 and pulls transformers and more for models
# the benchmark does not run: it goes in without its dependencies, and the bench extra names what its ten detectors
# import (tslearn at TSB-AD's 0.6.3). benchmarks/_tsbad_methods.py gives its calls back the five NumPy, pandas and
# scikit-learn calls that were removed since (docs/timeseries.md).
TSBAD_STAMP := $(VENV)/.tsbad-installed
.PHONY: bench-tsbad-env

$(TSBAD_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m pip install --quiet --no-deps TSB-AD==1.5
	touch $(TSBAD_STAMP)

bench-tsbad-env: $(TSBAD_STAMP)

# The documentation site (mkdocs.yml) in site/, strictly: a broken link or anchor, a missing API reference or a
# docstring that does not parse fails the build. The docs extra is installed once (and again when pyproject.toml
# changes). NO_MKDOCS_2_WARNING quiets the Material theme's end-of-life banner, which is no warning about this site.
DOCS_STAMP := $(VENV)/.docs-installed
.PHONY: docs

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The marked benchmark tables of README.md, docs/*.md and benchmarks/reports/*.md, rendered from the records
# (`python benchmarks/tables.py --check` only compares).
tables: $(STAMP)
	$(BIN)/python benchmarks/tables.py

# The fast lane on the oldest versions pyproject.toml promises: torch's CPU wheel first, then every direct
# dependency, the extras' and the test tools' included, pinned to its declared floor (.ci/min_constraints.py),
# as wheels, in a venv of its own. MIN_TESTS narrows the run: make test-min MIN_TESTS=tests/core
MIN_VENV := .venv-min
MIN_BIN := $(MIN_VENV)/bin
MIN_STAMP := $(MIN_VENV)/.installed
MIN_TESTS ?= src tests
.PHONY: test-min

$(MIN_STAMP): pyproject.toml .ci/min_constraints.py
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(PYTHON) .ci/min_constraints.py > $(MIN_VENV)/constraints.txt
	start=$$(date +%s) && \
	$(MIN_BIN)/python -m pip install --quiet --upgrade pip && \
	$(MIN_BIN)/python -m pip install --quiet torch==2.13.0 && \
	$(MIN_BIN)/python -m pip install --quiet --only-binary=$$($(PYTHON) .ci/min_constraints.py --names) \
		-c $(MIN_VENV)/constraints.txt \
		-e '.[dev,web,io,onnx,tensorboard,photos]' && \
	echo "test-min: the declared floors installed in $$(( $$(date +%s) - start )) s"
	$(MIN_BIN)/python .ci/min_constraints.py --check
	touch $(MIN_STAMP)

test-min: $(MIN_STAMP)
	$(MIN_BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" $(MIN_TESTS)

clean:
	rm -rf $(VENV) $(MIN_VENV) runs build *.egg-info src/*.egg-info
