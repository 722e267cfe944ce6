"""The OpenAPI document and the interactive docs."""

from __future__ import annotations


def test_openapi_lists_the_three_api_paths(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {"/api/v1/models", "/api/v1/trace", "/api/v1/compare"}
    assert "get" in paths["/api/v1/models"]
    assert "post" in paths["/api/v1/trace"] and "post" in paths["/api/v1/compare"]


def test_openapi_requests_carry_examples(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, schema in (("/api/v1/trace", "TraceRequest"), ("/api/v1/compare", "CompareRequest")):
        ref = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith(schema)
        examples = schemas[schema]["examples"]
        assert examples and all("text" in e for e in examples)


def test_openapi_request_examples_are_accepted_by_the_api(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for path, schema in (("/api/v1/trace", "TraceRequest"), ("/api/v1/compare", "CompareRequest")):
        for example in schemas[schema]["examples"]:
            r = client.post(path, json=example)
            assert r.status_code == 200, (example, r.text)


def test_openapi_documents_the_problem_responses(client):
    responses = client.get("/openapi.json").json()["paths"]["/api/v1/trace"]["post"]["responses"]
    assert {"200", "404", "413", "422", "503"} <= set(responses)
    assert "application/problem+json" in responses["404"]["content"]


def test_docs_page_is_served(client):
    r = client.get("/docs")
    assert r.status_code == 200
    assert "swagger" in r.text.lower()
