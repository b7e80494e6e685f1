"""The demo day the shared pipeline run (conftest `pipeline_run`) processes, for the modules
that check what it left behind."""

from __future__ import annotations

from datetime import date

from include.anomaly.demo_data import region_names

DAY = date(2026, 2, 25)  # a Wednesday with one labelled anomaly (region-000, noise burst)
REGIONS = region_names(6)
MODEL_NAME = "pipeline-test-model"
