"""Liveness, readiness, metrics, the vocabulary and the error shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from loracity.settings import Settings


def test_health_ready_and_metrics(api_client: TestClient) -> None:
    assert api_client.get("/healthz").json() == {"status": "ok"}
    ready = api_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    api_client.get("/v1/quantities")
    metrics = api_client.get("/metrics").text
    assert 'loracity_api_requests_total{method="GET",route="/v1/quantities",status="200"}' in (
        metrics
    )


def test_quantities_carry_ucum_units(api_client: TestClient) -> None:
    body = api_client.get("/v1/quantities").json()
    by_name = {q["name"]: q for q in body}
    assert by_name["temperature"]["unit"] == "Cel"
    assert by_name["co2"]["unit"] == "ppm"
    assert by_name["people_in"]["kind"] == "interval"


def test_unknown_path_is_404_with_a_pointer_to_the_docs(api_client: TestClient) -> None:
    response = api_client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert "/docs" in response.json()["detail"]


def test_database_away_is_503_with_retry_after() -> None:
    # A port where nothing listens: the app starts, says it is not ready, never hangs.
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url="postgresql://nobody@127.0.0.1:9/none", api_db_timeout_s=1
    )
    with TestClient(create_app(settings=settings), raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
