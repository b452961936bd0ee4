"""/health, /ready, /metrics, the OpenAPI document and the problem+json error shape."""

import asyncpg


async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_migrated(client):
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_ready_is_503_naming_the_migration_gap(client, db: asyncpg.Connection):
    await db.execute("UPDATE alembic_version SET version_num = '0001'")
    response = await client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_migrated"
    assert "0001" in body["detail"]


async def test_ready_is_503_when_never_migrated(client, db: asyncpg.Connection):
    await db.execute("DROP TABLE alembic_version")
    response = await client.get("/ready")
    assert response.status_code == 503
    assert "mukti migrate" in response.json()["detail"]


async def test_openapi_document(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/health", "/ready", "/metrics"} <= set(paths)


async def test_metrics_count_requests_by_route_and_report_queue_depth(client):
    await client.get("/health")
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'mukti_http_requests_total{method="GET",route="/health",status="200"} 2.0' in text
    assert "mukti_http_request_duration_seconds_bucket" in text
    assert 'mukti_queue_depth{status="pending"} 0.0' in text
    assert 'mukti_default_partition_rows{table="usage_events"} 0.0' in text


async def test_unknown_route_is_problem_json(client):
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404 and body["code"] == "not_found" and body["title"] and body["detail"]
