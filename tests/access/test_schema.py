"""The OpenAPI schema declares the API-key scheme, optional on every public operation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api) -> dict:
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema__api_key_scheme_and_no_session_scheme(schema):
    schemes = schema["components"]["securitySchemes"]
    assert set(schemes) == {"ApiKeyAuth"}
    assert {k: schemes["ApiKeyAuth"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert "Authorization: Api-Key" in schemes["ApiKeyAuth"]["description"]


def test_schema__every_operation_key_optional_with_its_refusals(schema):
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations
    for operation in operations:
        assert operation["security"] == [{"ApiKeyAuth": []}, {}], operation["operationId"]
        assert {"401", "403"} <= set(operation["responses"]), operation["operationId"]
