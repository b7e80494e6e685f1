# Entry points for the local stack; README.md documents each target.
# Every recipe sources scripts/env.sh, the one place where defaults are set.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
ENV := . scripts/env.sh &&

.PHONY: help venv demo report evaluate kibana-build kibana-validate kibana-import test lint format bench up down es-up es-down es-status airflow-init airflow-settings airflow-status \
	task-health-templates task-health-replay task-health-drain task-health-status constraints

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

venv:  ## create .venv and install the pinned dependencies (idempotent)
	@scripts/bootstrap.sh

demo: venv  ## set up and run the main job on demo data (see README)
	@scripts/demo.sh

report: venv  ## the task-health panels as one HTML file, last DAYS=7 days (or START=… END=…); prints its path
	@$(ENV) python -m include.health_view.report $(if $(START),--start "$(START)" $(if $(END),--end "$(END)"),--days "$(or $(DAYS),7)")

evaluate: venv  ## precision/recall/F1 of the flags vs the demo labels, START=YYYY-MM-DD END=YYYY-MM-DD (MLflow + ES)
	@$(ENV) python -m include.anomaly.evaluation --start "$(START)" --end "$(END)"

kibana-build: venv  ## regenerate include/kibana/saved_objects.ndjson from include/kibana/dashboards.py
	@$(ENV) python -m include.kibana build

kibana-validate: venv  ## check the dashboards offline against the index templates
	@$(ENV) python -m include.kibana validate

kibana-import: venv  ## import data views + dashboards into Kibana (KIBANA_URL/… or the kibana_default connection)
	@$(ENV) python -m include.kibana import

test: venv  ## install, start the services the tests need, run every test, stop what it started
	@scripts/run_tests.sh

lint: venv  ## ruff lint + format check + mypy (strict; pyproject.toml [tool.mypy])
	@$(ENV) ruff check . && ruff format --check . && mypy

format: venv  ## apply ruff's fixes and formatting
	@$(ENV) ruff check --fix . && ruff format .

bench: venv es-up  ## run the benchmarks against the local Elasticsearch (see benchmarks/README.md)
	@$(ENV) python -m benchmarks.bench_shipping && python -m benchmarks.bench_overhead \
		&& python -m benchmarks.bench_parse && python -m benchmarks.bench_scale \
		&& python -m benchmarks.bench_scheduler && python -m benchmarks.bench_detection \
		&& python -m benchmarks.bench_backfill

up: venv es-up  ## Elasticsearch + Airflow in the background (EXECUTOR=celery: Postgres, Redis, 2 workers); prints the UI URL and login
	@$(if $(filter celery,$(EXECUTOR)),scripts/celery_stack.sh start,scripts/airflow.sh start)

down:  ## stop whatever `make up` started (either executor) and Elasticsearch
	@scripts/airflow.sh stop
	@scripts/celery_stack.sh stop
	@$(ENV) scripts/elasticsearch.sh stop

es-up:  ## start (or reuse) the local Elasticsearch on $$ES_PORT (default 9200)
	@$(ENV) scripts/elasticsearch.sh start

es-down:  ## stop the local Elasticsearch
	@$(ENV) scripts/elasticsearch.sh stop

es-status:  ## cluster health of the local Elasticsearch
	@$(ENV) scripts/elasticsearch.sh status

airflow-init: venv  ## migrate the Airflow metadata DB and apply airflow_settings.yaml
	@scripts/airflow.sh init

airflow-settings: venv  ## re-apply airflow_settings.yaml (connections, pools, variables)
	@$(ENV) python -m scripts.load_airflow_settings airflow_settings.yaml

airflow-status:  ## is the local Airflow up, and where
	@scripts/airflow.sh status

task-health-templates: venv  ## install the task-health index template into elasticsearch_default
	@$(ENV) python -m include.stack.delivery install-templates

task-health-replay: venv  ## re-send every spooled event and detection row this host sees (same ids: no duplicates)
	@$(ENV) python -m include.stack.delivery replay

task-health-drain: venv  ## the spool drainer as a service of its own (hosts with no scheduler or worker), until Ctrl-C
	@$(ENV) python -m include.stack.delivery drain

task-health-status: venv  ## every spool this host sees (its own and adopted ones): spooled / dead-lettered, and where
	@$(ENV) python -m include.stack.delivery status

constraints: venv  ## regenerate constraints.txt from the installed venv
	@$(ENV) { head -n 2 constraints.txt; pip freeze --exclude-editable; } > constraints.txt.new && mv constraints.txt.new constraints.txt
