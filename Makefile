# The two commands of the README: `make run` and `make test`.
# Each creates the virtual environment when it is missing and installs the
# project into it; nothing else needs to be installed by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501
ADDRESS ?= 127.0.0.1

.PHONY: run test install bench demo-data clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/cqox users init
	$(BIN)/streamlit run app.py --server.headless true --server.address $(ADDRESS) --server.port $(PORT) \
		--browser.gatherUsageStats false

# One BLAS thread per pytest worker: two workers on two cores beat threads
# fighting over them.
test: $(STAMP)
	bash scripts/install_browser.sh
	bash scripts/install_postgres.sh
	$(BIN)/ruff check cqox_core app_lib app_pages app.py tests bench scripts wolfram
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python bench/bench_observational.py

demo-data: $(STAMP)
	$(BIN)/python scripts/make_demo_data.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
