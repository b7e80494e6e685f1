# Sourced by the Makefile, .ci/run and the scripts: the one place where the local stack's
# environment gets its defaults. Every variable can be overridden from the caller's
# environment; README.md ("Configuration") documents them.
# shellcheck shell=bash
# Always this checkout, even when another checkout's environment was inherited.
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PROJECT_ROOT
export STATE_DIR="${STATE_DIR:-$PROJECT_ROOT/.state}"
export VENV_DIR="${VENV_DIR:-$PROJECT_ROOT/.venv}"
export PATH="$VENV_DIR/bin:$PATH"
# DAG files import `include.…`: the project root must be importable, as in the Astro image.
export PYTHONPATH="$PROJECT_ROOT${PYTHONPATH:+:$PYTHONPATH}"

# Elasticsearch (scripts/elasticsearch.sh reads the rest of its settings itself)
export ES_PORT="${ES_PORT:-9200}"

# Airflow
export AIRFLOW_HOME="${AIRFLOW_HOME:-$STATE_DIR/airflow}"
export AIRFLOW_PORT="${AIRFLOW_PORT:-8080}"
export AIRFLOW__CORE__DAGS_FOLDER="$PROJECT_ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$PROJECT_ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="${AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG:-4}"
export AIRFLOW__API__PORT="$AIRFLOW_PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:$AIRFLOW_PORT/execution/"
# How soon a task's supervisor sees its task process exit (Airflow's default 5 s). When the
# process's sockets close before the kernel has reaped it, the supervisor sleeps on an empty
# selector for up to this long before it looks again: measured here, half of all task instances
# held their executor slot ~5 s past their end (README "Configuration"). It is also the heartbeat period.
export AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL="${AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL:-1}"
# Pick up new DAG files within seconds instead of the default 5 minutes.
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"

# A local Airflow on SQLite: wait up to 60 s for the database lock instead of sqlite3's 5 s
# (include/stack/sqlite.py says why). Not for other databases: their drivers take other arguments.
case "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite}" in
  sqlite*) export AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS:-include.stack.sqlite.CONNECT_ARGS}" ;;
esac

# Airflow's own task logs to Elasticsearch (opt-in; README "Airflow task logs in Elasticsearch").
# The provider's remote logging: each task's supervisor bulk-writes the finished try's log file
# into AIRFLOW_TASK_LOGS_INDEX (the local file stays), the UI reads it back by log_id and links
# to Kibana Discover. JSON_FORMAT only matters to Airflow 2: Airflow 3 log files are JSON lines.
export AIRFLOW_TASK_LOGS_TO_ES="${AIRFLOW_TASK_LOGS_TO_ES:-false}"
export AIRFLOW_TASK_LOGS_INDEX="${AIRFLOW_TASK_LOGS_INDEX:-airflow-logs}"
if [ "$AIRFLOW_TASK_LOGS_TO_ES" = true ]; then
  export AIRFLOW__LOGGING__REMOTE_LOGGING=True
  export AIRFLOW__LOGGING__DELETE_LOCAL_LOGS="${AIRFLOW__LOGGING__DELETE_LOCAL_LOGS:-False}"
  export AIRFLOW__ELASTICSEARCH__HOST="${AIRFLOW__ELASTICSEARCH__HOST:-http://localhost:$ES_PORT}"
  export AIRFLOW__ELASTICSEARCH__WRITE_TO_ES=True
  export AIRFLOW__ELASTICSEARCH__JSON_FORMAT=True
  export AIRFLOW__ELASTICSEARCH__TARGET_INDEX="$AIRFLOW_TASK_LOGS_INDEX"
  # Read back from that index only (default: _all). A wildcard, because a missing index named
  # exactly is a 404 that the provider re-raises; a pattern matching nothing is "not found".
  export AIRFLOW__ELASTICSEARCH__INDEX_PATTERNS="$AIRFLOW_TASK_LOGS_INDEX*"
  export AIRFLOW__ELASTICSEARCH__FRONTEND="${AIRFLOW__ELASTICSEARCH__FRONTEND:-http://localhost:5601/app/discover#/?_g=(time:(from:now-30d,to:now))&_a=(query:(language:kuery,query:'log_id: \"{log_id}\"'))}"
fi

# Spools of other hosts this host drains and `make task-health-status` reports: the Celery
# workers of `make up EXECUTOR=celery` (scripts/celery_stack.sh), each with a STATE_DIR of its own.
export TASK_HEALTH_ADOPT_SPOOL_DIRS="${TASK_HEALTH_ADOPT_SPOOL_DIRS-$STATE_DIR/workers/*/task_health}"

# Where the pipeline reads landing data and writes its output (any ObjectStoragePath URI).
export DATA_ROOT="${DATA_ROOT:-file://$STATE_DIR/data}"

# MLflow: tracking and registry on SQLite in the state directory.
export MLFLOW_TRACKING_URI="${MLFLOW_TRACKING_URI:-sqlite:///$STATE_DIR/mlflow/mlflow.db}"

# airflow_settings.yaml points elasticsearch_default at localhost:9200; follow ES_PORT when it
# differs (an AIRFLOW_CONN_* variable takes precedence over the metadata database).
if [ "$ES_PORT" != 9200 ] && [ -z "${AIRFLOW_CONN_ELASTICSEARCH_DEFAULT:-}" ]; then
  export AIRFLOW_CONN_ELASTICSEARCH_DEFAULT="{\"conn_type\": \"elasticsearch\", \"host\": \"localhost\", \"port\": $ES_PORT, \"schema\": \"http\"}"
fi
