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
# credentials are filled in when none are set, and the simulator plays demo traffic in
# (DEMO_TRAFFIC=0 to keep it quiet).
DEMO_ENV = DJANGO_DEBUG=$${DJANGO_DEBUG-1} \
	TWILIO_AUTH_TOKEN=$${TWILIO_AUTH_TOKEN:-demo-twilio-token} \
	EMAIL_INBOUND_USER=$${EMAIL_INBOUND_USER:-sendgrid} \
	EMAIL_INBOUND_PASSWORD=$${EMAIL_INBOUND_PASSWORD:-demo-inbound-password} \
	RAPPORT_PUBLIC_URL=$${RAPPORT_PUBLIC_URL:-http://$(HOST):$(PORT)}
DEMO_TRAFFIC ?= 1

run: install
	$(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	@set -e; trap 'kill 0' INT TERM EXIT; \
	if [ -n "$$REDIS_URL" ]; then \
		$(BIN)/celery -A config worker --loglevel=info --concurrency=$(WORKERS) & \
		$(BIN)/celery -A config beat --loglevel=info --schedule=var/celerybeat-schedule & \
	fi; \
	if [ "$(DEMO_TRAFFIC)" = "1" ]; then \
		( sleep 4; $(DEMO_ENV) $(BIN)/python manage.py simulate --demo \
			--url http://$(HOST):$(PORT) --rate 0.5 ) & \
	fi; \
	echo "Rapport on http://$(HOST):$(PORT)/  (admin at /admin/)"; \
	$(DEMO_ENV) $(BIN)/daphne -b $(HOST) -p $(PORT) config.asgi:application

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
