# Rapport: `make run` serves the demo, `make test` runs the suite. Both install into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_PROCESSES ?= 1
WORKERS ?= 2

.PHONY: install run serve worker test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The demo: SQLite, in-memory channel layer and inline tasks unless DATABASE_URL / REDIS_URL say
# otherwise; with REDIS_URL a Celery worker and beat run beside the web server. Demo webhook
# credentials are filled in when none are set. seed_demo writes the history, puts two agents
# online and hands the seeded messages still waiting to the pipeline; then the simulator plays an
# hour of shop traffic compressed into DEMO_SECONDS, round after round (DEMO_TRAFFIC=0 to keep it
# quiet). Logs go to var/, so the login is the last thing printed, once the server answers.
DEMO_ENV = DJANGO_DEBUG=$${DJANGO_DEBUG-1} \
	TWILIO_AUTH_TOKEN=$${TWILIO_AUTH_TOKEN:-demo-twilio-token} \
	EMAIL_INBOUND_USER=$${EMAIL_INBOUND_USER:-sendgrid} \
	EMAIL_INBOUND_PASSWORD=$${EMAIL_INBOUND_PASSWORD:-demo-inbound-password} \
	RAPPORT_PUBLIC_URL=$${RAPPORT_PUBLIC_URL:-http://$(HOST):$(PORT)}
DEMO_TRAFFIC ?= 1
DEMO_SECONDS ?= 360
DEMO_ROUNDS ?= 0

run: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo --login-file var/demo-login.txt
	@set -e; pids=""; trap 'kill $$pids 2>/dev/null' INT TERM EXIT; \
	if [ -n "$$REDIS_URL" ]; then \
		$(BIN)/celery -A config worker --loglevel=info --concurrency=$(WORKERS) \
			>var/worker.log 2>&1 & pids="$$pids $$!"; \
		$(BIN)/celery -A config beat --loglevel=info --schedule=var/celerybeat-schedule \
			>var/beat.log 2>&1 & pids="$$pids $$!"; \
	fi; \
	$(DEMO_ENV) $(BIN)/daphne --access-log var/access.log -b $(HOST) -p $(PORT) \
		config.asgi:application >var/server.log 2>&1 & server=$$!; pids="$$pids $$server"; \
	until $(BIN)/python -c "import socket; socket.create_connection(('$(HOST)', $(PORT)), 1)" 2>/dev/null; do \
		kill -0 $$server 2>/dev/null || { tail -20 var/server.log; exit 1; }; sleep 0.5; \
	done; \
	if [ "$(DEMO_TRAFFIC)" = "1" ]; then \
		$(DEMO_ENV) $(BIN)/python manage.py simulate --demo --url http://$(HOST):$(PORT) \
			--over $(DEMO_SECONDS) --rounds $(DEMO_ROUNDS) >var/demo-traffic.log 2>&1 & \
		pids="$$pids $$!"; \
		echo "Demo traffic: an hour of customers every $(DEMO_SECONDS) s (tail -f var/demo-traffic.log)"; \
	fi; \
	if [ -n "$$REDIS_URL" ]; then echo "Worker and beat logs: var/worker.log, var/beat.log"; fi; \
	echo "Server log: var/server.log, requests: var/access.log"; \
	echo "Rapport on http://$(HOST):$(PORT)/  (admin at /admin/)"; \
	cat var/demo-login.txt; rm -f var/demo-login.txt; \
	wait $$server

# Production shape: web processes only (run workers with `make worker` on as many hosts as needed).
serve: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --workers $(WEB_PROCESSES)

worker: install
	$(BIN)/celery -A config worker --loglevel=info --concurrency=$(WORKERS)

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles var .pytest_cache .ruff_cache
