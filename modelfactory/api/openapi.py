"""`/v1/openapi.json`, generated from the request models, and what the reference page lists.

One list of endpoints (`ENDPOINTS`) feeds both, so the document and the page cannot drift from each
other; the request bodies' schemas are the pydantic models the views validate with, so the document
cannot drift from what the server accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pydantic import BaseModel

from modelfactory.api.request_models import ChatCompletionRequest, CompletionRequest


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    multipart: bool = False  # a file upload (POST /v1/files)


ENDPOINTS = (
    Endpoint("GET", "/v1/models", "The models your key may call: base models, your adapters, shared ones."),
    Endpoint("GET", "/v1/models/{model}", "One model, with its base model, access and prices."),
    Endpoint("POST", "/v1/chat/completions", "A chat answer, whole or streamed.", ChatCompletionRequest),
    Endpoint("POST", "/v1/completions", "Text completions of one or several prompts.", CompletionRequest),
    Endpoint("GET", "/v1/attribution/{receipt_id}", "An answer's receipt: fee, split and attribution."),
    Endpoint(
        "POST", "/v1/files", "Upload JSONL for fine-tuning (becomes a private datanet).", multipart=True
    ),
    Endpoint("GET", "/v1/files", "Your uploaded files."),
    Endpoint("GET", "/v1/files/{file_id}", "One of your files."),
    Endpoint("DELETE", "/v1/files/{file_id}", "Delete a file (jobs that used it keep their data)."),
    Endpoint("POST", "/v1/fine_tuning/jobs", "Start a fine-tuning job."),
    Endpoint("GET", "/v1/fine_tuning/jobs", "Your fine-tuning jobs, newest first."),
    Endpoint("GET", "/v1/fine_tuning/jobs/{job_id}", "One job."),
    Endpoint("POST", "/v1/fine_tuning/jobs/{job_id}/cancel", "Cancel a job."),
    Endpoint("GET", "/v1/fine_tuning/jobs/{job_id}/events", "A job's events: status changes and losses."),
    Endpoint("GET", "/v1/fine_tuning/jobs/{job_id}/checkpoints", "A job's saved checkpoints."),
)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
            "required": ["message", "type", "param", "code"],
        }
    },
}


@cache
def openapi_document() -> dict:
    """OpenAPI 3.1: every endpoint, its path parameters, its JSON body's schema, and the error shape."""
    schemas: dict = {"Error": ERROR_SCHEMA}
    paths: dict = {}
    for endpoint in ENDPOINTS:
        operation: dict = {
            "summary": endpoint.summary,
            "operationId": _operation_id(endpoint),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _path_parameters(endpoint.path)
            ],
            "responses": {
                "200": {"description": "OpenAI's response shape (with `attribution_receipt` on answers)"},
                "default": {
                    "description": "An error in OpenAI's shape; its `param` names the bad parameter",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        }
        if endpoint.body is not None:
            schema = endpoint.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[endpoint.body.__name__] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{endpoint.body.__name__}"}}
                },
            }
        elif endpoint.multipart:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "purpose": {"type": "string", "enum": ["fine-tune"]},
                            },
                            "required": ["file", "purpose"],
                        }
                    }
                },
            }
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ModelFactory API",
            "version": "1",
            "description": "OpenAI-compatible: the official clients work with base_url=<server>/v1. Every "
            "parameter is honoured or refused with a 400 naming it.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": paths,
    }


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _operation_id(endpoint: Endpoint) -> str:
    words = [part for part in endpoint.path.split("/")[2:] if not part.startswith("{")]
    return endpoint.method.lower() + "_" + "_".join(words)


def parameter_rows(model: type[BaseModel]) -> list[dict]:
    """The reference page's table of one request body: name, type, default and what it does."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    rows = []
    for name, field in model.model_fields.items():
        rows.append(
            {
                "name": name,
                "required": name in required,
                "type": _type_text(schema["properties"][name]),
                "default": None if field.is_required() else field.default,
                "description": field.description or "",
                "refused": name in getattr(model, "REFUSED", {}),
            }
        )
    return rows


def _type_text(schema: dict) -> str:
    if "anyOf" in schema:
        return " | ".join(dict.fromkeys(_type_text(option) for option in schema["anyOf"]))
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_text(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(repr(value) for value in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    return kind
