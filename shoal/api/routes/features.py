"""Feature tables and feature sets: list, show, deploy a SQL, compute request rows.

Importing a table and extracting samples read and write files where the server runs: they are
workflow tasks (`data_import`, `feature_extract`), not requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shoal import services
from shoal.api.deps import API, Caller, StoreDep, Version, json_response

router = APIRouter(prefix=API + "/projects/{project}", tags=["features"])
MAX_SQL = 1 << 20
MAX_ROWS = 1000


class DeployRequest(BaseModel):
    """A feature SQL (OpenMLDB-style windows over the project's managed tables)."""

    name: str = Field(description="the feature set's name")
    sql: str = Field(description="one SELECT with its WINDOW clauses", max_length=MAX_SQL)
    max_rows_per_key: int = Field(default=services.features.DEFAULT_CAP, ge=1, le=10_000_000,
                                  description="rows kept online per key")


class ComputeRequest(BaseModel):
    rows: list[dict[str, Any]] = Field(description="request rows (the main table's columns)", min_length=1,
                                       max_length=MAX_ROWS)


@router.get("/feature-tables")
def list_tables(caller: Caller, store: StoreDep, project: str) -> Response:
    """The project's managed offline tables (latest version each) with their schemas."""
    return json_response(services.features.list_tables(store, project=project, actor=caller))


@router.get("/feature-sets")
def list_feature_sets(caller: Caller, store: StoreDep, project: str) -> Response:
    """The project's feature sets (latest version each) with their online row counts."""
    return json_response(services.features.list_feature_sets(store, project=project, actor=caller))


@router.post("/feature-sets", status_code=201)
def deploy(caller: Caller, store: StoreDep, project: str, body: DeployRequest) -> Response:
    """Store the SQL as a new version of the feature set unless it is unchanged (`changed`); a
    SQL that does not compile against the project's tables is never stored."""
    result = services.features.deploy(store, body.name, body.sql, max_rows_per_key=body.max_rows_per_key,
                                      project=project, actor=caller)
    return json_response(result, 201)


@router.get("/feature-sets/{name}/versions")
def feature_set_versions(caller: Caller, store: StoreDep, project: str, name: str) -> Response:
    """Every version of a feature set, newest first, with its online row counts."""
    return json_response(services.features.feature_set_versions(store, name, project=project, actor=caller))


@router.get("/feature-sets/{name}")
def show_feature_set(caller: Caller, store: StoreDep, project: str, name: str,
                     version: Version = None) -> Response:
    """A feature set version (default: the latest): SQL, features, windows, tables, online contents."""
    return json_response(services.features.show_feature_set(store, name, version=version, project=project,
                                                            actor=caller))


@router.post("/feature-sets/{name}/compute")
def compute(caller: Caller, store: StoreDep, project: str, name: str, body: ComputeRequest,
            version: Version = None) -> Response:
    """Features of request rows in request mode, as the model server computes them (nothing is stored)."""
    return json_response(services.features.compute(store, name, body.rows, version=version, project=project,
                                                   actor=caller))
