"""Connection arguments for a local Airflow on SQLite (`[database] sql_alchemy_connect_args`,
set by `scripts/env.sh` only when the metadata DB is SQLite).

Every Airflow component (scheduler, DAG processor, API server, triggerer, each task's
supervisor) writes to the one database file. sqlite3 waits 5 s for a lock by default and then
fails with "database is locked"; measured in a CI run of the e2e tests on a busy 2-core machine:
a trigger, a DAG update and a backfill creation each failed that way. Waiting longer serialises
those writes instead of failing them.
"""

CONNECT_ARGS = {"timeout": 60}
