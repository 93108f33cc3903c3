"""Schemathesis against the OpenAPI document, over the ASGI app on real data: no 5xx, every
status code and content type documented, every JSON body matching its schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from loracity.settings import Settings


@pytest.fixture(scope="module")
def api_schema(history_url: str) -> Iterator[schemathesis.BaseSchema]:
    settings_ = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=history_url, api_cache_ttl_s=0
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(settings=settings_))
    shutdown_lifespans()  # close the app's pool before its database is dropped


_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_matches_its_openapi_document(api_schema: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=5,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            case.call_and_validate(checks=_CHECKS)

        check()
