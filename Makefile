# The two commands (README): `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup pango lock browser bench clean-store

demo: setup
	$(BIN)/did demo

test: setup browser
	$(BIN)/pytest

# A virtual environment with the project and its test tools at the locked versions (requirements.lock),
# rebuilt when pyproject.toml or the lock changes. `pip check` fails if the lock lacks a dependency.
# --no-compile: Python compiles each module to bytecode when it is first imported (and keeps it),
# instead of pip compiling every module of every package up front (12 s of the 27 s install).
setup: pango $(VENV)/.installed
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

# Re-resolve requirements.lock: the newest versions pyproject.toml allows, in a scratch environment.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[test]'
	{ sed -n '1,2p' requirements.lock; .lock-venv/bin/pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf .lock-venv

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work here), and
# poppler's pdftotext, which reads the provider profile's PDF back in its browser test.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }
	@command -v pdftotext >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q poppler-utils; }

# Debian's Pango, which WeasyPrint (the provider profile's PDF) lays text out with.
pango:
	@{ dpkg -s libpango-1.0-0 && dpkg -s libpangoft2-1.0-0; } >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q libpango-1.0-0 libpangoft2-1.0-0; }

bench: setup
	$(BIN)/python bench/ingest.py

clean-store:
	rm -rf data/store data/demo
