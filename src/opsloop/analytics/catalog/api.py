"""REST doors of the metric catalog: `/api/v1/metrics` (the catalog, and the workspace's own
metrics) and `/api/v1/spend` (the acquisition spend table behind CAC)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from opsloop.accounts.permissions import Permission
from opsloop.analytics.catalog import service
from opsloop.analytics.catalog.spec import MetricSpec
from opsloop.analytics.catalog.spend import (
    delete_spend,
    import_spend,
    parse_spend_csv,
    parse_spend_json,
    spend_rows,
    workspace_currency,
)
from opsloop.errors import InvalidInput, UnsupportedMediaType
from opsloop.web.access import Actor, require, work_as
from opsloop.web.body import read_body
from opsloop.web.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["metrics"])

ReaderDep = Annotated[Actor, Depends(require(Permission.READ_DATA))]
# Defining metrics is an analyst's work, like saving analyses; spend is imported data.
DefinerDep = Annotated[Actor, Depends(require(Permission.SAVE_ANALYSES))]
ImporterDep = Annotated[Actor, Depends(require(Permission.IMPORT_EVENTS))]
MAX_SPEND_BYTES = 16 * 1024 * 1024
EXAMPLE = {
    "key": "checkout_conversion",
    "kind": "formula",
    "formula": "paying_users / checkout_users",
    "name": {"zh-CN": "下单支付转化率", "en": "Checkout conversion"},
    "description": {"zh-CN": "付费用户数 ÷ 下单用户数", "en": "Paying users ÷ checkout users"},
    "unit": {"zh-CN": "比例", "en": "ratio"},
    "format": "percent",
    "decimals": 1,
}


@router.get("/metrics", summary="The metric catalog: built-in and workspace metrics")
def list_metrics(state: StateDep, token: ReaderDep) -> dict[str, Any]:
    """Every metric the workspace can query, built-in ones first, each with its names, unit,
    format, parameters and full definition (`source`: builtin or workspace)."""
    with state.db.session() as s:
        infos = service.list_metrics(s, token.workspace.id)
    return {"results": [i.to_dict() for i in infos]}


@router.get("/metrics/{key}", summary="One metric of the catalog")
def get_metric(key: str, state: StateDep, token: ReaderDep) -> dict[str, Any]:
    with state.db.session() as s:
        return service.get_metric(s, token.workspace.id, key).to_dict()


@router.post("/metrics", status_code=201, summary="Define a workspace metric")
def define_metric(
    definition: Annotated[MetricSpec, Body(openapi_examples={"formula": {"value": EXAMPLE}})],
    state: StateDep,
    token: DefinerDep,
) -> dict[str, Any]:
    """A metric in the catalog's format (see the README's "Metric catalog"); 409 when the key
    is a built-in one or already defined, 400 naming the field when it does not validate."""
    data = definition.model_dump(mode="json", by_alias=True)
    with work_as(state, token.who) as s:
        info = service.define_metric(s, token.workspace.id, data, created_by=token.user_id)
        return info.to_dict()


@router.put("/metrics/{key}", summary="Replace a workspace metric's definition")
def replace_metric(
    key: str,
    definition: Annotated[MetricSpec, Body()],
    state: StateDep,
    token: DefinerDep,
) -> dict[str, Any]:
    data = definition.model_dump(mode="json", by_alias=True)
    with work_as(state, token.who) as s:
        return service.replace_metric(s, token.workspace.id, key, data).to_dict()


@router.delete("/metrics/{key}", status_code=204, summary="Delete a workspace metric")
def delete_metric(key: str, state: StateDep, token: DefinerDep) -> Response:
    """Refused (409) while another workspace metric's formula names it."""
    with work_as(state, token.who) as s:
        service.delete_metric(s, token.workspace.id, key)
    return Response(status_code=204)


@router.post(
    "/spend",
    summary="Upload acquisition spend (CSV or JSON)",
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
            "required": True,
        }
    },
)
async def upload_spend(request: Request, state: StateDep, token: ImporterDep) -> dict[str, Any]:
    """Rows of channel, date (YYYY-MM-DD, local), spend and optionally currency (ISO 4217,
    default CNY): a CSV with that header, or JSON `[{...}]` / `{"rows": [...]}`. A row of a
    channel and day already stored replaces it. Errors name the row and the field."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, MAX_SPEND_BYTES)
    if kind in ("text/csv", "application/csv", "text/plain"):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the CSV is not UTF-8 text", "body") from None
        rows = parse_spend_csv(text)
    elif kind == "application/json":
        rows = parse_spend_json(body)
    else:
        raise UnsupportedMediaType("send text/csv or application/json", "Content-Type")
    with work_as(state, token.who) as s:
        return import_spend(s, token.workspace.id, rows).to_dict()


@router.get("/spend", summary="The workspace's acquisition spend")
def list_spend(
    state: StateDep,
    token: ReaderDep,
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    with state.db.session() as s:
        rows = spend_rows(s, token.workspace.id, date_from, date_to, channel)
        currency = workspace_currency(s, token.workspace.id)
    return {
        "currency": currency,
        "results": [
            {"channel": r.channel, "date": r.day.isoformat(), "spend": r.spend} for r in rows
        ],
    }


@router.delete("/spend", summary="Delete acquisition spend rows")
def remove_spend(
    state: StateDep,
    token: ImporterDep,
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The rows of the dates (both ends included) and channel given; all of them without."""
    with work_as(state, token.who) as s:
        return {"deleted": delete_spend(s, token.workspace.id, date_from, date_to, channel)}
