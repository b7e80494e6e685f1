#!/usr/bin/env bash
# `make demo`: the daily pipeline on demo data, end to end on the local stack.
# Starts Elasticsearch, prepares Airflow (metadata DB + airflow_settings.yaml) and MLflow,
# generates 60 days x 8 regions of demo data ending yesterday, runs hourly_anomaly_detection
# for the last 14 days in date order (dag.test, one run per day), then prints a per-date
# summary and the evaluation against the demo labels (python -m include.anomaly.evaluation).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"

if scripts/airflow.sh status >/dev/null 2>&1; then
  echo "[demo] airflow standalone is running on this AIRFLOW_HOME; stop it first (make down):" >&2
  echo "[demo] dag.test() and a live scheduler must not share a metadata DB" >&2
  exit 1
fi
scripts/elasticsearch.sh start
scripts/airflow.sh init

case "$DATA_ROOT" in
  file://*) data_dir="${DATA_ROOT#file://}" ;;
  *) echo "[demo] DATA_ROOT=$DATA_ROOT is not local; the demo writes its data under file://" >&2; exit 1 ;;
esac
end=$(date -u +%F)
start=$(date -u -d "$end - 60 days" +%F)
python -m include.anomaly.demo_data --root "$data_dir" --start "$start" --end "$end" --regions 8
echo "[demo] running hourly_anomaly_detection for the 14 days before $end" >&2
mkdir -p "$STATE_DIR/logs"
python -m scripts.demo_pipeline --days 14 --end "$end" --summary "$STATE_DIR/demo-summary.txt" \
  >"$STATE_DIR/logs/demo-pipeline.log" 2>&1 \
  || { tail -n 40 "$STATE_DIR/logs/demo-pipeline.log" >&2; echo "[demo] pipeline failed (log: $STATE_DIR/logs/demo-pipeline.log)" >&2; exit 1; }
echo
cat "$STATE_DIR/demo-summary.txt"
echo
echo "Evaluation against the demo labels (logged to MLflow and as a model_evaluation document):"
python -m include.anomaly.evaluation --start "$(date -u -d "$end - 14 days" +%F)" --end "$end" \
  | grep -v '^{'

sleep 1  # the indices refresh every second
report=$(python -m include.health_view.report --days 15)  # the processed days too (the anomalies panel)
count() { curl -fsS "http://127.0.0.1:$ES_PORT/$1/_count" | python -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }
cat <<TXT

Documents in Elasticsearch (http://127.0.0.1:$ES_PORT):
  task-health-*   $(count 'task-health-*')   (task_execution / model_execution / dag_run / model_evaluation events)
  anomalies       $(count anomalies)   (one per region-day, _id = region|date)
Outputs:          $data_dir/anomalies/date=YYYY-MM-DD/anomalies.parquet
Run log:          $STATE_DIR/logs/demo-pipeline.log
Task-health report: $report   (the dashboards' panels, one HTML file; make report DAYS=N for another)
Airflow UI:       make up, then http://localhost:$AIRFLOW_PORT (login printed by make up)
MLflow UI:        . scripts/env.sh && mlflow ui --backend-store-uri "\$MLFLOW_TRACKING_URI"
Stop Elasticsearch: make es-down
TXT
