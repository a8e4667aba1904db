# 西区居民助手. `make run` serves the bot; `make test` checks everything. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
KB := $(VENV)/bin/kb
RASA_PORT ?= 5005
ACTIONS_PORT ?= 5055
MODEL := models/westbot.tar.gz

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_ENABLE_ONEDNN_OPTS := 0
export MPLCONFIGDIR := $(CURDIR)/var/cache/matplotlib
# Rasa's stack prints dozens of third-party DeprecationWarnings at start; quiet them where the bot is served or
# trained. Tests show them (pyproject.toml filters only named third-party ones), so an upgrade sees what to change.
QUIET_DEPRECATIONS := PYTHONWARNINGS=ignore::DeprecationWarning
run train kb validate shell telegram eval: export PYTHONWARNINGS := ignore::DeprecationWarning

# Python 3.10 (Rasa 3.6 supports up to 3.10): $PYTHON310, then pyenv's versions, then the usual places.
find_python310 = for p in "$$PYTHON310" $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10.*/bin/python3.10 \
	2>/dev/null | sort -V -r) /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	[ -n "$$p" ] && [ -x "$$p" ] && "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null \
	&& echo "$$p" && break; done

NLU_DATA := $(wildcard nlu/data/*.yml)
KB_SOURCES := $(wildcard knowledge/data/*.yml knowledge/data/*.tsv knowledge/data/*.txt knowledge/data/documents/*) \
	knowledge/ingest.py knowledge/store.py knowledge/catalog.py knowledge/dictionary.py
GENERATED := nlu/generated/jieba/district.txt nlu/generated/lookups/lookups.yml
# What the KnowledgeFeaturizer's output depends on besides its own file: a change must retrain. The featurizer's
# fingerprint_addon hashes the same files (FINGERPRINT_MODULES), so Rasa's training cache does not skip it either.
FEATURIZER_SOURCES := $(wildcard $(addprefix knowledge/,search.py policy.py lexicon.py segment.py text.py pinyin.py \
	catalog.py soundalike.py)) $(shell find knowledge/data -type f -not -path '*/__pycache__/*' 2>/dev/null)

.PHONY: help install system-deps kb train run shell telegram test test-fast lint validate eval bench clean lock

# Debian packages: espeak-ng and opus-tools speak elder-mode answers; chromium (with a Chinese font) runs the
# browser tests; postgresql and redis-server run the two-machine test (Rasa's own scaling path).
DEBIAN_PACKAGES := espeak-ng opus-tools chromium fonts-wqy-zenhei postgresql redis-server
WEB_PORT ?= 8080
STAFF_PORT ?= 8081

help: ## Show the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## Create the Python 3.10 venv with the pinned packages and this project (`kb` in .venv/bin)

$(VENV)/.installed: requirements.lock pyproject.toml
	@py=$$($(find_python310)); \
	if [ -z "$$py" ]; then \
		echo "Python 3.10 was not found. Install it, e.g. 'pyenv install 3.10.13' or Debian's python3.10," >&2; \
		echo "or point PYTHON310 at a python3.10 binary." >&2; exit 1; fi; \
	echo "Using $$py"; \
	[ -x $(PY) ] || "$$py" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 'setuptools<70' wheel
	$(PY) -m pip install --quiet -r requirements.lock
	@# The project itself, editable (code changes need no reinstall), held to the same pins: `kb` in .venv/bin.
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --no-build-isolation -c requirements.lock -e .
	$(RASA) telemetry disable >/dev/null 2>&1 || true
	@touch $@

system-deps: ## Install the Debian packages (apt-get; as root, or with sudo)
	@missing=""; for c in espeak-ng opusenc chromium redis-server; do command -v $$c >/dev/null || missing=1; done; \
	[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| missing=1; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEBIAN_PACKAGES); \
		elif command -v sudo >/dev/null; then sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEBIAN_PACKAGES); \
		else echo "Please install the Debian packages: $(DEBIAN_PACKAGES)" >&2; exit 1; fi; fi

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

kb: var/knowledge.db ## Build the knowledge base and its generated dictionaries

var/knowledge.db $(GENERATED) &: $(VENV)/.installed $(KB_SOURCES)
	$(KB) build
	$(KB) build-dictionary
	@touch var/knowledge.db

train: $(MODEL) ## Train the NLU and dialogue model (only when its data or config changed)

$(MODEL): $(VENV)/.installed config.yml domain.yml $(NLU_DATA) $(GENERATED) $(wildcard nlu/components/*.py) \
		$(FEATURIZER_SOURCES)
	$(RASA) train --data nlu/data nlu/generated/lookups --config config.yml --domain domain.yml \
		--out models --fixed-model-name westbot
	@touch $@

# A server still running this long after TERM (Sanic's own graceful shutdown allows 15 s) is killed, so Ctrl-C
# always ends `make run`.
STOP_SECONDS ?= 25

# Stopping (Ctrl-C, or TERM to make): the trap stops the servers this shell started, waits until they have ended
# (so their ports are free) and says so in one line. It clears itself first: the old `trap 'kill 0' INT TERM EXIT`
# signalled its own shell, re-entered the trap until bash overflowed its stack, and make said "Segmentation fault".
run: kb train ## Start the web page (:8080), the staff console (127.0.0.1:8081), Rasa (:5005), the action server, Telegram if TELEGRAM_TOKEN is set
	@# Private: var/ is 0700 and its files 0600; everything started here creates files the same way (umask 077).
	@mkdir -p var && chmod 700 var && find var -mindepth 1 -type d -exec chmod 700 {} + \
		&& find var -type f -exec chmod 600 {} +
	@for c in espeak-ng opusenc; do command -v $$c >/dev/null || echo "Note: $$c is missing, so elder answers are not \
	spoken (the page hides its ▶ button). espeak-ng and opus-tools install with: make system-deps" >&2; done
	@umask 077; $(KB) forget
	@umask 077; stop() { trap - INT TERM EXIT; kill $$(jobs -p) 2>/dev/null; \
		for i in $$(seq $$(( $(STOP_SECONDS) * 5 ))); do [ -z "$$(jobs -pr)" ] && break; sleep 0.2; done; \
		left=$$(jobs -pr | xargs); if [ -n "$$left" ]; then kill -KILL $$left 2>/dev/null; \
		echo "make run: process $$left had not ended $(STOP_SECONDS) s after TERM, so it was killed" >&2; fi; \
		wait; echo "make run: stopped; every server has ended."; }; \
	trap 'stop; exit 0' INT TERM; trap stop EXIT; \
	SANIC_HOST=127.0.0.1 $(RASA) run actions --actions actions --port $(ACTIONS_PORT) & \
	$(PY) -m bot.run_rasa --token-file var/rasa-api-token -- --model $(MODEL) --enable-api \
		--interface 127.0.0.1 --port $(RASA_PORT) --endpoints endpoints.yml --credentials credentials.yml & \
	RASA_URL=http://127.0.0.1:$(RASA_PORT) $(PY) -m bot.web --port $(WEB_PORT) & \
	$(PY) -m bot.staff --host 127.0.0.1 --port $(STAFF_PORT) & \
	if [ -n "$$TELEGRAM_TOKEN" ]; then RASA_URL=http://127.0.0.1:$(RASA_PORT) $(PY) -m bot.telegram & \
	else echo "TELEGRAM_TOKEN is not set: the Telegram relay stays off (see README, Telegram)"; fi; \
	echo "Rasa REST channel: http://localhost:$(RASA_PORT)/webhooks/rest/webhook  (try: make shell)"; \
	wait

telegram: ## Run only the Telegram relay (TELEGRAM_TOKEN set; Rasa running)
	$(PY) -m bot.telegram

shell: ## Chat with the running bot in this terminal (start `make run` first)
	$(PY) -m bot.terminal --url http://localhost:$(RASA_PORT)

validate: kb ## Check the training data with Rasa
	$(RASA) data validate --data nlu/data nlu/generated/lookups --config config.yml --domain domain.yml --fail-on-warnings

test: lint system-deps node_modules/.installed kb train ## Run every check: lint, data validation, unit and end-to-end tests, test stories
	$(QUIET_DEPRECATIONS) $(RASA) data validate --data nlu/data nlu/generated/lookups --config config.yml --domain domain.yml --fail-on-warnings
	$(PY) -m pytest -q
	$(QUIET_DEPRECATIONS) $(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out var/results

test-fast: kb ## Unit tests only (no trained model, no apt-get; tests needing a missing Debian program are skipped)
	$(PY) -m pytest -q -m "not slow"

lint: $(VENV)/.installed ## Check style and types: ruff, ruff format --check, mypy on knowledge/ (settings: pyproject.toml)
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/mypy knowledge/ || status=1; \
	exit $$status

eval: ## Score the running bot on ../shared/eval (answer, decline and elder rates, latency)
	$(PY) benchmarks/eval.py --url http://localhost:$(RASA_PORT)

lock: ## Re-pin requirements.lock from the current venv
	( sed -n '/^#/p' requirements.lock; $(PY) -m pip freeze --exclude pip --exclude setuptools --exclude wheel ) \
		> requirements.lock.new
	mv requirements.lock.new requirements.lock

clean: ## Remove the venv, models and generated files (the knowledge base too)
	rm -rf $(VENV) models var nlu/generated
