"""Registers task health's listener: documents for every task of every DAG, no DAG change
needed (the logic: include/task_health/listener.py; off with TASK_HEALTH_PLUGIN=false), and the
spool drainer of the scheduler, DAG processor, triggerer and task processes
(include/stack/draining.py; off with TASK_HEALTH_DRAIN_INTERVAL_S=0)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.stack.draining import SpoolDrainListener
from include.task_health.listener import TaskHealthListener


class TaskHealthPlugin(AirflowPlugin):
    name = "task_health"
    listeners = [TaskHealthListener(), SpoolDrainListener()]
