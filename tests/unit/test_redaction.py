"""Which credentials the redaction finds without Airflow having seen them (pure logic)."""

from __future__ import annotations

import pytest

from include.redaction import environment_secrets, mask_url_credentials


def test_variables_named_like_secrets_and_url_passwords_are_secrets() -> None:
    environ = {
        "KIBANA_PASSWORD": "kibana-pw-1",
        "KIBANA_API_KEY": "a2liYW5hLWtleQ==",
        "MLFLOW_TRACKING_TOKEN": "tok-123456",
        "MLFLOW_TRACKING_URI": "https://ml-user:ml-token-9@mlflow.internal:5000",
        "GIT_REMOTE": "https://ghp_abcdef123@github.com/org/repo",
        "KIBANA_URL": "http://localhost:5601",
        "KIBANA_USERNAME": "elastic",
        "EMPTY_PASSWORD": "",
    }
    assert environment_secrets(environ) == {
        "kibana-pw-1",
        "a2liYW5hLWtleQ==",
        "tok-123456",
        "ml-token-9",
        "ghp_abcdef123",
    }


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET https://bob:s3cret@example.com/x failed", "GET https://bob:***@example.com/x failed"),
        ("postgresql+psycopg2://u:p%40ss@db:5432/airflow", "postgresql+psycopg2://u:***@db:5432/airflow"),
        ("clone https://ghp_token@github.com/o/r", "clone https://***@github.com/o/r"),
        ("mail bob@example.com, see http://example.com/a@b", "mail bob@example.com, see http://example.com/a@b"),
        ("no url here", "no url here"),
    ],
)
def test_url_credentials_are_masked_in_any_text(text: str, masked: str) -> None:
    assert mask_url_credentials(text) == masked


def test_url_credentials_are_masked_inside_documents() -> None:
    doc = {"error_message": "at http://u:pw-1@h/", "details": {"urls": ["ftp://a:b-secret@c"]}, "n": 3}
    assert mask_url_credentials(doc) == {
        "error_message": "at http://u:***@h/",
        "details": {"urls": ["ftp://a:***@c"]},
        "n": 3,
    }
