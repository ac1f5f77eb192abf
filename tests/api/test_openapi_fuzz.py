"""Schemathesis against the API's own OpenAPI document: no input makes any operation answer 5xx.

Every operation of ``/api/v1/openapi.json`` (the routes other modules add later included) gets a
few generated requests, valid and invalid, sent as an admin with a bearer token, on the test's
real database (SQLite or PostgreSQL). The number of examples is bounded and the generation
derandomized so the run is repeatable and takes well under a minute per backend.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine

from api.app import create_app
from cmdb.settings import CmdbSettings
from cmdb.users import create_api_token, create_user

#: Generated requests per operation.
EXAMPLES = 5


@pytest.fixture
def admin_token(engine: Engine) -> str:
    """An admin with an API token only (no password to hash: this runs once per operation)."""
    create_user(engine, "fuzz-admin", "admin", password=None, full_name="fuzz", actor="tester")
    return create_api_token(engine, "fuzz-admin", "fuzz", actor="tester")


def _document_app() -> FastAPI:
    """The app, on a throwaway in-memory database, only to serve its OpenAPI document.

    The document does not depend on the database; the requests go to each test's own app
    (``app=`` below) on the test's real, migrated database.
    """
    from sqlalchemy import create_engine

    return create_app(create_engine("sqlite://"), CmdbSettings(database_url="sqlite://"))


schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _document_app())
# Generated requests only (valid and invalid), bounded by EXAMPLES; the deterministic «coverage»
# phase would add dozens of boundary cases per operation and take minutes.
schema.config.phases.update(phases=["examples", "fuzzing"])


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_with_a_server_error(
    case: Any, app: FastAPI, admin_token: str
) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"}, checks=[not_a_server_error], app=app
    )
