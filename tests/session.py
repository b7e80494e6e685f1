"""The test session's isolation, applied when this module is first imported (by
tests/conftest.py, before anything imports Airflow or MLflow): its own AIRFLOW_HOME, MLflow
store, data root, spool and index prefix, so tests never touch a developer's `.state/` nor a
running scheduler's database. Tests import the names below from here, never from a conftest.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

from cryptography.fernet import Fernet

if "airflow" in sys.modules:
    raise RuntimeError(
        "Airflow was imported before tests/session.py could isolate AIRFLOW_HOME; "
        "its settings would point at a developer's database. Find the early import (plugins, "
        "pyproject filterwarnings) and remove it."
    )

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
SESSION_DIR = Path(tempfile.mkdtemp(prefix="airflow-anomaly-tests-"))
SESSION_INDEX_PREFIX = f"th-session-{uuid.uuid4().hex[:10]}"
# What tests leave for people to look at (the browser tests' screenshots): kept after the session.
ARTIFACTS_DIR = Path(
    os.environ.get("TESTS_ARTIFACTS_DIR", Path(tempfile.gettempdir()) / "airflow-anomaly-test-artifacts")
)

os.environ.update(
    {
        "AIRFLOW_HOME": str(SESSION_DIR / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # dag.test() only runs DAGs it finds in a configured bundle: the project's DAGs plus
        # the test DAGs (which fail on purpose and so must never be in dags/).
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {
                    "name": name,
                    "classpath": LOCAL_BUNDLE,
                    "kwargs": {"path": path},
                }
                for name, path in (
                    ("dags-folder", str(PROJECT_ROOT / "dags")),
                    ("test-dags", str(PROJECT_ROOT / "tests" / "test_dags")),
                )
            ]
        ),
        "MLFLOW_TRACKING_URI": f"sqlite:///{SESSION_DIR / 'mlflow' / 'mlflow.db'}",
        "STATE_DIR": str(SESSION_DIR),
        # Task-health documents of this session never mix with a developer's task-health-*.
        "TASK_HEALTH_INDEX_PREFIX": SESSION_INDEX_PREFIX,
        "ANOMALIES_INDEX": f"{SESSION_INDEX_PREFIX}_anomalies",  # not matched by `<prefix>-*`
        "DATA_ROOT": (SESSION_DIR / "data").as_uri(),
        # No other host's spools (scripts/env.sh adopts the developer's Celery workers' ones).
        "TASK_HEALTH_ADOPT_SPOOL_DIRS": "",
        # One key for this process and its subprocesses: whichever creates airflow.cfg first
        # must not leave the others unable to decrypt connection extras.
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
)
os.environ.pop("MLFLOW_ARTIFACT_ROOT", None)
ES_PORT = int(os.environ.get("ES_PORT", "9200"))
ES_URL = f"http://127.0.0.1:{ES_PORT}"
# The secured node (TLS, users, API keys: tests/secured.py), next to the open one above.
SECURED_ES_PORT = int(os.environ.get("ES_SECURED_PORT", "9201"))
