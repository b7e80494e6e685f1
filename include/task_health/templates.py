"""The index templates of task health.

- task-health documents: `task_health_template.json`; the template's name and index pattern
  follow the configured index prefix (`<prefix>` and `<prefix>-*`), so a test or a second
  deployment with its own prefix gets its own template;
- Airflow's own task logs: `airflow_logs_template.json`, for `<AIRFLOW_TASK_LOGS_INDEX>*`. The
  provider writes whatever a log line holds; with dynamic mapping, a field that is a number in
  one line and a string in another gets the later line rejected, silently. `dynamic: false`
  keeps every line (unknown fields stay in `_source`) and maps the fields Airflow reads back.
"""

from __future__ import annotations

from functools import cache

from include.delivery.templates import IndexTemplate, project_template


@cache  # built for every event otherwise (a deep copy of the template's JSON each time)
def task_health_template(index_prefix: str) -> IndexTemplate:
    """The template for task-health indices `<index_prefix>-*` (one object per prefix: read it, never change it)."""
    return project_template("task_health_template.json", index_prefix, [f"{index_prefix}-*"])


def airflow_logs_template(index: str = "airflow-logs") -> IndexTemplate:
    """The template for Airflow's task-log indices `<index>*` (the provider's `target_index`)."""
    return project_template("airflow_logs_template.json", index, [f"{index}*"])
