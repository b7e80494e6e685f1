"""docker-compose.yaml as Compose resolves it with the committed `.env.example`: the whole stack,
start-up gated on health, one Elastic 9.x version, credentials only from `.env`, the Celery
profile, task logs to Elasticsearch. `docker-compose config` needs no Docker engine; CI gets
Debian's docker-compose from scripts/bootstrap.sh."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"

AIRFLOW_SERVICES = {"airflow-init", "api-server", "scheduler", "dag-processor", "triggerer", "celery-worker"}
CELERY_SERVICES = {"redis", "celery-worker"}
ONE_SHOT_SERVICES = {"airflow-init", "elasticsearch-setup", "kibana-setup"}
REQUIRED_SERVICES = (
    AIRFLOW_SERVICES
    | CELERY_SERVICES
    | ONE_SHOT_SERVICES
    | {
        "postgres",
        "mlflow-db",
        "mlflow",
        "elasticsearch",
        "kibana",
    }
)
SECRETS = (
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "MLFLOW_DB_PASSWORD",
    "ELASTIC_PASSWORD",
    "ES_WRITER_PASSWORD",
    "KIBANA_SYSTEM_PASSWORD",
)


def example_env() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def command_text(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def retry_bound(script: str) -> tuple[int, int]:
    """(attempts, seconds between them) of a one-shot's `until … do … done` loop, which must end."""
    assert re.search(r"\buntil\b.*\bdo\b.*\bdone\b", script, re.DOTALL), f"no retry loop:\n{script}"
    attempts = re.search(r"\battempts=(\d+)\b", script)
    pause = re.search(r"\bsleep (\d+)\b", script)
    assert attempts and pause, f"unbounded retry loop:\n{script}"
    assert re.search(r'-ge "\$+\{?attempts\}?"', script) and "exit 1" in script, f"the loop never gives up:\n{script}"
    return int(attempts.group(1)), int(pause.group(1))


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    """Every service, the `celery` profile's included, with `.env.example` as the only input."""
    if shutil.which("docker-compose") is None:
        reason = "docker-compose is not installed (scripts/bootstrap.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    command = ["docker-compose", "--profile", "celery", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE)]
    # Only PATH and HOME: a variable of the caller's shell would win over the env file.
    isolated = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}
    result = subprocess.run([*command, "config"], env=isolated, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)["services"]


def test_the_stack_has_every_service(services) -> None:
    assert services.keys() >= REQUIRED_SERVICES, f"missing: {sorted(REQUIRED_SERVICES - services.keys())}"


def test_every_long_running_service_has_a_healthcheck(services) -> None:
    for name, service in services.items():
        if name not in ONE_SHOT_SERVICES:
            check = service.get("healthcheck", {})
            assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_services_start_only_once_what_they_need_is_healthy_or_done(services) -> None:
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOT_SERVICES else "service_healthy"
            assert spec["condition"] == expected, f"{name} -> {dependency}: {spec}"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert "airflow-init" in services[name]["depends_on"], f"{name} may start before the DB is migrated"
    for name in ONE_SHOT_SERVICES:
        assert services[name]["restart"] == "no", name


def test_kibana_never_holds_back_airflow(services) -> None:
    # Airflow waits for airflow-init; that must not wait for Kibana, nor Airflow for kibana-setup.
    assert services["airflow-init"]["depends_on"].keys() == {"postgres", "elasticsearch-setup"}
    for name in AIRFLOW_SERVICES:
        assert not services[name].get("depends_on", {}).keys() & {"kibana", "kibana-setup"}, name
    assert services["kibana-setup"]["depends_on"] == {"kibana": {"condition": "service_healthy"}}


def test_elasticsearch_and_kibana_run_the_same_9x_version(services) -> None:
    repositories = {
        "elasticsearch": "docker.elastic.co/elasticsearch/elasticsearch",
        "elasticsearch-setup": "docker.elastic.co/elasticsearch/elasticsearch",
        "kibana": "docker.elastic.co/kibana/kibana",
    }
    tags = set()
    for name, repository in repositories.items():
        image, _, tag = services[name]["image"].rpartition(":")
        assert image == repository, services[name]["image"]
        tags.add(tag)
    assert len(tags) == 1, f"Elastic versions differ: {tags}"
    assert re.fullmatch(r"9\.\d+\.\d+", tags.pop())


def test_credentials_come_only_from_the_env_file(services) -> None:
    text = COMPOSE_FILE.read_text()
    env = example_env()
    for name in SECRETS:
        assert f"${{{name}" in text, f"{name} from .env is not used"
        assert env[name] not in text, f"the example value of {name} is written in docker-compose.yaml"
    # Passwords in URLs and JSON are variables too (or a printf placeholder filled from one).
    masked = re.sub(r"\$\{[^}]*\}", "${}", text)
    passwords = re.findall(r"://[^/\s@:]+:([^/\s@]+)@", masked) + re.findall(r'"password":\s*"([^"]*)"', masked)
    assert passwords and set(passwords) <= {"${}", "%s"}, passwords
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    assert used <= env.keys(), f"not in .env.example: {sorted(used - env.keys())}"
    # ... and they reach their consumers.
    assert services["elasticsearch"]["environment"]["ELASTIC_PASSWORD"] == env["ELASTIC_PASSWORD"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == env["POSTGRES_PASSWORD"]


def test_the_celery_profile_adds_redis_and_workers_only(services) -> None:
    for name, service in services.items():
        assert service.get("profiles", []) == (["celery"] if name in CELERY_SERVICES else []), name
    assert command_text(services["celery-worker"]) == "airflow celery worker"
    assert services["scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_the_celery_profile_runs_what_the_native_stack_tests(services) -> None:
    """scripts/celery_stack.sh is the Celery stack CI runs: the same Celery settings and task
    supervisor heartbeat (scripts/env.sh), the same Redis version (Debian's redis-server 7.0), a
    broker that wants a password."""
    script = (PROJECT_ROOT / "scripts" / "celery_stack.sh").read_text()
    native = dict(re.findall(r"export (AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS)=(\S+)", script))
    heartbeat = re.search(
        r'MIN_HEARTBEAT_INTERVAL="\$\{AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL:-(\d+)\}"',
        (PROJECT_ROOT / "scripts" / "env.sh").read_text(),
    )
    assert heartbeat, "scripts/env.sh sets how soon a supervisor sees its task exit"
    concurrency = re.search(r'CELERY_WORKER_CONCURRENCY="\$\{CELERY_WORKER_CONCURRENCY:-(\d+)\}"', script)
    assert native and concurrency
    for name in ("scheduler", "celery-worker"):
        env = services[name]["environment"]
        assert env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == native["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"]
        assert env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == concurrency.group(1)
        assert env["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"] == heartbeat.group(1)
        assert env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://:{example_env()['REDIS_PASSWORD']}@redis:6379/0"
    assert services["redis"]["image"].startswith("redis:7.0-")
    assert "requirepass" in command_text(services["redis"]) and "REDISCLI_AUTH" in str(services["redis"]["healthcheck"])


def test_airflow_services_log_tasks_to_elasticsearch_and_reach_mlflow(services) -> None:
    from airflow.providers.elasticsearch.get_provider_info import get_provider_info

    options = get_provider_info()["config"]["elasticsearch"]["options"]
    example = example_env()
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        es_options = {key.removeprefix("AIRFLOW__ELASTICSEARCH__").lower() for key in env if "__ELASTICSEARCH__" in key}
        assert es_options <= options.keys(), f"{name}: unknown [elasticsearch] options {es_options - options.keys()}"
        assert env["AIRFLOW__LOGGING__REMOTE_LOGGING"] == "True"
        assert env["AIRFLOW__ELASTICSEARCH__WRITE_TO_ES"] == "True"
        assert env["AIRFLOW__ELASTICSEARCH__JSON_FORMAT"] == "True"
        assert env["AIRFLOW__ELASTICSEARCH__TARGET_INDEX"] == env["AIRFLOW_TASK_LOGS_INDEX"] == "airflow-logs"
        assert env["AIRFLOW__ELASTICSEARCH__INDEX_PATTERNS"] == env["AIRFLOW_TASK_LOGS_INDEX"] + "*"
        assert env["AIRFLOW__ELASTICSEARCH__HOST"].endswith("@elasticsearch:9200")
        frontend = env["AIRFLOW__ELASTICSEARCH__FRONTEND"]
        assert frontend.startswith(f"http://localhost:{example['KIBANA_PORT']}/app/discover") and "{log_id}" in frontend
        connection = json.loads(env["AIRFLOW_CONN_ELASTICSEARCH_DEFAULT"])
        assert connection["conn_type"] == "elasticsearch" and connection["host"] == "elasticsearch"
        assert (connection["login"], connection["password"]) == (
            "airflow_anomaly_writer",
            example["ES_WRITER_PASSWORD"],
        )
        assert env["TASK_HEALTH_MANAGE_TEMPLATES"] == "false", "the writer may not manage templates"
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


def test_the_init_job_migrates_and_installs_templates_but_leaves_kibana_alone(services) -> None:
    script = command_text(services["airflow-init"])
    steps = [
        "airflow db migrate",
        "python -m scripts.load_airflow_settings airflow_settings.yaml",
        "python -m include.stack.delivery install-templates --conn-id elasticsearch_admin",
    ]
    positions = [script.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), script
    assert "include.kibana" not in script
    admin = json.loads(services["airflow-init"]["environment"]["AIRFLOW_CONN_ELASTICSEARCH_ADMIN"])
    assert (admin["login"], admin["password"]) == ("elastic", example_env()["ELASTIC_PASSWORD"])
    assert not {k for s, service in services.items() if s != "airflow-init" for k in service.get("environment", {})} & {
        "AIRFLOW_CONN_ELASTICSEARCH_ADMIN"
    }, "only the admin step holds the superuser's connection"
    assert not {key for key in services["airflow-init"]["environment"] if key.startswith("KIBANA_")}
    assert "--serve-artifacts" in command_text(services["mlflow"])


def test_kibana_setup_imports_the_dashboards_with_bounded_retries(services) -> None:
    service = services["kibana-setup"]
    script = command_text(service)
    assert re.search(r"\buntil python -m include\.kibana import\b", script), script
    attempts, pause = retry_bound(script)
    assert 3 <= attempts <= 30 and 1 <= pause <= 30 and attempts * pause <= 600, (attempts, pause)
    env = service["environment"]
    assert env["KIBANA_URL"] == "http://kibana:5601" and env["KIBANA_USERNAME"] == "elastic"
    assert env["KIBANA_PASSWORD"] == example_env()["ELASTIC_PASSWORD"]
    # The data views name the indices the stack writes: the same task-logs index as Airflow's.
    airflow_env = services["scheduler"]["environment"]
    for name in ("TASK_HEALTH_INDEX_PREFIX", "ANOMALIES_INDEX", "AIRFLOW_TASK_LOGS_INDEX"):
        assert env.get(name) == airflow_env.get(name), name
    assert env["AIRFLOW_TASK_LOGS_INDEX"] == airflow_env["AIRFLOW__ELASTICSEARCH__TARGET_INDEX"]
    assert service["image"] == services["airflow-init"]["image"]


def test_elasticsearch_setup_retries_the_kibana_system_password(services) -> None:
    script = command_text(services["elasticsearch-setup"])
    assert "/_security/user/kibana_system/_password" in script and "curl -fsS" in script
    attempts, pause = retry_bound(script)
    assert attempts >= 3 and pause >= 1 and attempts * pause <= 600, (attempts, pause)


def test_elasticsearch_setup_gives_the_writer_the_role_delivery_expects(services) -> None:
    from include.delivery.refusals import ANOMALIES_PRIVILEGES, TASK_HEALTH_PRIVILEGES

    script = command_text(services["elasticsearch-setup"])
    role = re.search(r"_security/role/airflow_anomaly_writer -d '(\{.*?\})'", script, re.DOTALL)
    assert role, script
    body = json.loads(role.group(1))
    assert body["cluster"] == []
    assert {tuple(i["names"]): tuple(i["privileges"]) for i in body["indices"]} == {
        ("task-health-*",): TASK_HEALTH_PRIVILEGES,
        ("anomalies",): ANOMALIES_PRIVILEGES,
    }
    assert "/_security/user/airflow_anomaly_writer" in script and "ES_WRITER_PASSWORD" in script
