# One entry point for the lesson. Every target sets up .venv first if needed.
#
#   make lesson      run every notebook end to end (copies in build/lesson/)
#   make test        unit tests, then nbval on every notebook and learner copy
#   make outputs     regenerate the stored outputs, figures and timings
#   make learner     regenerate the learner copies from the notebooks
#   make sync        re-pair notebooks with their scripts in notebooks/py/
#   make check-setup the learners' setup check (also notebooks/00-setup-check)
#   make benchmark   the speed benchmark against the original lesson code

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lesson test unit nbval outputs learner sync check-setup benchmark clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m cnn_lesson.kernel
	touch $(STAMP)

lesson: setup
	$(BIN)/python -m cnn_lesson.run lesson

test: setup
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-current-env -p no:cacheprovider

unit: setup
	$(BIN)/python -m pytest tests -p no:cacheprovider

nbval: setup
	$(BIN)/python -m pytest notebooks --nbval --nbval-current-env -p no:cacheprovider

outputs: setup
	$(BIN)/python -m cnn_lesson.run outputs
	$(MAKE) sync learner

learner: setup
	$(BIN)/python -m cnn_lesson.learner

sync: setup
	$(BIN)/jupytext --sync notebooks/[0-9]*.ipynb

check-setup: setup
	$(BIN)/python -m cnn_lesson.setup_check

benchmark: setup
	$(BIN)/python benchmarks/benchmark.py

clean:
	rm -rf build
