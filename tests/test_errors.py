"""Which field a validation error names: the client's path, without pydantic's own labels."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from opsloop.errors import field_of, most_specific


class Ref(BaseModel):
    metric: Annotated[str, Field(min_length=1)]


class Metrics(BaseModel):
    kind: Literal["metrics"] = "metrics"
    metrics: list[Annotated[str, Field(min_length=1)] | Ref]
    days: int = 1


class Trends(BaseModel):
    kind: Literal["trends"] = "trends"
    series: list[Ref]


QUERY = TypeAdapter(Annotated[Metrics | Trends, Field(discriminator="kind")])


def _field(body: object) -> tuple[str | None, str]:
    with pytest.raises(ValidationError) as caught:
        QUERY.validate_python(body)
    first = most_specific(caught.value.errors())
    return field_of(first["loc"], body), str(first["msg"])


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"kind": "metrics", "metrics": [""]}, "metrics.0", "at least 1 character"),
        ({"kind": "metrics", "metrics": ["a", {"metric": ""}]}, "metrics.1.metric", "at least 1"),
        ({"kind": "metrics", "metrics": [{"metric": "a", "x": 1}, 3]}, "metrics.1", "valid string"),
        ({"kind": "metrics", "metrics": ["a"], "days": "x"}, "days", "valid integer"),
        ({"kind": "metrics"}, "metrics", "Field required"),
        ({"kind": "trends", "series": [{}]}, "series.0.metric", "Field required"),
        ({"kind": "trends", "series": "x"}, "series", "valid list"),
        ({"kind": "trends", "series": [{"metric": 5}]}, "series.0.metric", "valid string"),
        # a body whose `kind` names no member: the tag is the field
        ({"kind": "paths"}, None, "does not match any of the expected tags"),
    ],
)
def test_the_field_is_the_clients_path(body: object, field: str | None, message: str) -> None:
    got_field, got_message = _field(body)
    assert got_field == field
    assert message in got_message


def test_without_the_body_the_path_is_kept_whole() -> None:
    assert field_of(("body", "metrics", 0, "constrained-str"), None, skip=("body",)) == (
        "metrics.0.constrained-str"
    )
    assert field_of((), {"a": 1}) is None
    assert most_specific([]) == {}
