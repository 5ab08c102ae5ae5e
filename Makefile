# The README's commands. Everything installs into .venv; only Python 3.11 and make are needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
DEV := DJANGO_DEBUG=1

.PHONY: run test bench lint clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py seed_demo
	@echo "Log in at http://127.0.0.1:$(PORT)/ as demo-patient or demo-clinician, password relief-demo-2026"
	@# The job worker and the scheduler run beside the server and stop with it (tracker/jobs.py).
	$(DEV) $(BIN)/python manage.py db_worker --no-reload & worker=$$!; \
	$(DEV) $(BIN)/python manage.py schedule_jobs --every 60 & scheduler=$$!; \
	trap 'kill $$worker $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(DEV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	DJANGO_SECRET_KEY=bench-only $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	DJANGO_SECRET_KEY=bench-only $(BIN)/python -m bench.run_bench
	DJANGO_SECRET_KEY=bench-only $(BIN)/python -m bench.run_load_bench
	$(BIN)/python -m bench.wger

lint: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .hypothesis
