# The two commands of the README:
#   make demo  -- create .venv if needed, then train + evaluate TS-GAN on the
#                 synthetic stand-in (papermill notebooks/04_train.ipynb, executed copy in runs/)
#   make test  -- the same environment, then the unit tests and
#                 pytest --nbval over notebooks/
# and the tier to run on every change:
#   make test-fast -- the unit tests not marked slow (no training run, no other program, no notebook)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Kernels started by papermill / nbval must find this environment's python.
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND := Agg

DEMO_NOTEBOOK := notebooks/04_train.ipynb
DEMO_OUT      := runs/$(notdir $(DEMO_NOTEBOOK))

.PHONY: env demo test test-fast unit nbtest bench ablation ablation-thermal readings compare clean

env: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required (found " + sys.version.split()[0] + "); set PYTHON=python3.x")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test]"
	touch $(STAMP)

demo: env
	mkdir -p runs
	$(BIN)/papermill $(DEMO_NOTEBOOK) $(DEMO_OUT)
	@echo "Executed notebook: $(DEMO_OUT)"

# pytest exits 5 when a selection is legitimately empty (e.g. no notebooks yet).
unit: env
	$(BIN)/python -m pytest tests; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]

nbtest: env
	$(BIN)/python -m pytest --nbval -p no:cacheprovider notebooks/; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]

test: unit nbtest

test-fast: env
	$(BIN)/python -m pytest -m "not slow" tests

# Table II on the synthetic stand-in: every params/synthetic_<variant>.yaml row x seeds 0-4 on the CPU, with
# 95 % intervals of each row's difference to the same-seed backbone (finished runs in runs/ablation_* are kept,
# so it can be stopped and restarted), then docs/results/ablation_synthetic.{md,png,json}; ablation-thermal
# runs the same on the thermal renderer (docs/results/ablation_synthetic_thermal.*).
SEEDS ?= 0 1 2 3 4
ablation: env
	$(BIN)/python -m tsgan_lib ablation --seeds $(SEEDS)

ablation-thermal: env
	$(BIN)/python -m tsgan_lib ablation --seeds $(SEEDS) --sensor thermal

# The readings table: the full model (and the backbone) with each reading of the paper flipped from the suite's
# default, same seeds, in make ablation's run folder (its default and backbone runs are shared):
# docs/results/readings_synthetic.{md,json}.
readings: env
	$(BIN)/python -m tsgan_lib ablation --readings --seeds $(SEEDS)

# TS-GAN beside the field's baselines (AGW, CAJ) on each stand-in, the same seeds for every row, paired against the
# backbone: docs/results/comparison_{sysu,regdb,llcm}.{md,json}. On SYSU-MM01 the Table II runs of make ablation
# are reused; RegDB and LLCM train in runs/compare_<dataset>.
COMPARE_SEEDS ?= 0 1 2
compare: env
	$(BIN)/python -m tsgan_lib ablation --compare sysu --seeds $(COMPARE_SEEDS)
	$(BIN)/python -m tsgan_lib ablation --compare regdb --seeds $(COMPARE_SEEDS)
	$(BIN)/python -m tsgan_lib ablation --compare llcm --seeds $(COMPARE_SEEDS)

bench: env
	$(BIN)/python benchmarks/bench_eval.py
	$(BIN)/python benchmarks/bench_synthetic.py
	$(BIN)/python benchmarks/bench_train_step.py --preset demo
	$(BIN)/python benchmarks/bench_inference.py
	$(BIN)/python benchmarks/bench_data.py

clean:
	rm -rf runs .pytest_cache
