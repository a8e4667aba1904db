# 西区居民助手. `make run` serves the bot; `make test` checks everything. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
KB := $(PY) -m knowledge
RASA_PORT ?= 5005
ACTIONS_PORT ?= 5055
MODEL := models/westbot.tar.gz

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONWARNINGS := ignore::DeprecationWarning
export MPLCONFIGDIR := $(CURDIR)/var/cache/matplotlib

# Python 3.10 (Rasa 3.6 supports up to 3.10): $PYTHON310, then pyenv's versions, then the usual places.
find_python310 = for p in "$$PYTHON310" $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10.*/bin/python3.10 \
	2>/dev/null | sort -V -r) /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	[ -n "$$p" ] && [ -x "$$p" ] && "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null \
	&& echo "$$p" && break; done

NLU_DATA := $(wildcard nlu/data/*.yml)
KB_SOURCES := $(wildcard knowledge/data/*.yml knowledge/data/*.tsv knowledge/data/*.txt knowledge/data/documents/*) \
	knowledge/ingest.py knowledge/store.py knowledge/catalog.py knowledge/dictionary.py
GENERATED := nlu/generated/jieba/district.txt nlu/generated/lookups/lookups.yml

.PHONY: help install system-deps kb train run shell telegram test test-fast validate eval bench clean lock

# Debian packages: espeak-ng and opus-tools speak elder-mode answers; chromium (with a Chinese font) runs the
# browser tests; postgresql and redis-server run the two-machine test (Rasa's own scaling path).
DEBIAN_PACKAGES := espeak-ng opus-tools chromium fonts-wqy-zenhei postgresql redis-server
WEB_PORT ?= 8080

help: ## Show the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## Create the Python 3.10 venv with the pinned packages

$(VENV)/.installed: requirements.lock
	@py=$$($(find_python310)); \
	if [ -z "$$py" ]; then \
		echo "Python 3.10 was not found. Install it, e.g. 'pyenv install 3.10.13' or Debian's python3.10," >&2; \
		echo "or point PYTHON310 at a python3.10 binary." >&2; exit 1; fi; \
	echo "Using $$py"; \
	[ -x $(PY) ] || "$$py" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 'setuptools<70' wheel
	$(PY) -m pip install --quiet -r requirements.lock
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

$(MODEL): $(VENV)/.installed config.yml domain.yml $(NLU_DATA) $(GENERATED) $(wildcard nlu/components/*.py)
	$(RASA) train --data nlu/data nlu/generated/lookups --config config.yml --domain domain.yml \
		--out models --fixed-model-name westbot
	@touch $@

run: kb train ## Start the web page (:8080), Rasa (:5005), the action server, and Telegram if TELEGRAM_TOKEN is set
	@mkdir -p var
	@for c in espeak-ng opusenc; do command -v $$c >/dev/null || echo "Note: $$c is missing, so elder answers are not \
	spoken (the page hides its ▶ button). espeak-ng and opus-tools install with: make system-deps" >&2; done
	@[ -s var/rasa-api-token ] || $(PY) -c 'import secrets; print(secrets.token_urlsafe(24))' > var/rasa-api-token
	@$(KB) forget
	@trap 'kill 0' INT TERM EXIT; \
	SANIC_HOST=127.0.0.1 $(RASA) run actions --actions actions --port $(ACTIONS_PORT) & \
	$(RASA) run --model $(MODEL) --enable-api --auth-token="$${RASA_AUTH_TOKEN:-$$(cat var/rasa-api-token)}" \
		--interface 127.0.0.1 --port $(RASA_PORT) --endpoints endpoints.yml --credentials credentials.yml & \
	RASA_URL=http://127.0.0.1:$(RASA_PORT) $(PY) -m bot.web --port $(WEB_PORT) & \
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

test: system-deps node_modules/.installed kb train ## Run every check: data validation, unit and end-to-end tests, test stories
	$(RASA) data validate --data nlu/data nlu/generated/lookups --config config.yml --domain domain.yml --fail-on-warnings
	$(PY) -m pytest -q
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out var/results

test-fast: system-deps kb ## Unit tests only (no trained model needed)
	$(PY) -m pytest -q -m "not slow"

eval: ## Score the running bot on ../shared/eval (answer, decline and elder rates, latency)
	$(PY) benchmarks/eval.py --url http://localhost:$(RASA_PORT)

lock: ## Re-pin requirements.lock from the current venv
	( sed -n '/^#/p' requirements.lock; $(PY) -m pip freeze --exclude pip --exclude setuptools --exclude wheel ) \
		> requirements.lock.new
	mv requirements.lock.new requirements.lock

clean: ## Remove the venv, models and generated files (the knowledge base too)
	rm -rf $(VENV) models var nlu/generated
