"""Which column of the file gives which field: the four core fields map by name or by --map,
every other column becomes an event property of its (mapped) name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opsloop.errors import InvalidInput

CORE_FIELDS = ("event", "distinct_id", "timestamp", "uuid")
REQUIRED_FIELDS = ("event", "distinct_id", "timestamp")
# The JSON Lines key whose object value is merged into the properties (OpsLoop's own format).
PROPERTIES_KEY = "properties"


@dataclass(frozen=True, slots=True)
class PropertyColumn:
    column: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class TabularLayout:
    """For CSV and Parquet: the source column of each core field and the property columns."""

    core: dict[str, str]
    properties: tuple[PropertyColumn, ...]

    def label(self, field: str) -> str:
        """How a reason names a field: `distinct_id`, or `distinct_id (column "user")`."""
        column = self.core.get(field, field)
        return field if column == field else f'{field} (column "{column}")'


def parse_map(items: Sequence[str]) -> dict[str, str]:
    """`--map col=field` options as {column: field}."""
    renames: dict[str, str] = {}
    targets: dict[str, str] = {}
    for item in items:
        column, sep, field = item.rpartition("=")
        column, field = column.strip(), field.strip()
        if not sep or not column or not field:
            raise InvalidInput(f"--map {item!r} is not of the form column=field", "--map")
        if column in renames:
            raise InvalidInput(f"--map names the column {column!r} twice", "--map")
        if field in targets:
            raise InvalidInput(
                f"--map gives {field!r} twice (from {targets[field]!r} and {column!r})", "--map"
            )
        renames[column] = field
        targets[field] = column
    return renames


def tabular_layout(
    columns: Sequence[str], types: Sequence[str], renames: dict[str, str]
) -> TabularLayout:
    missing = [c for c in renames if c not in columns]
    if missing:
        raise InvalidInput(
            f"--map names {_names(missing)}, but the file has no such column"
            f" (its columns: {_names(columns)})",
            "--map",
        )
    source_of: dict[str, str] = {}
    for column in columns:
        field = renames.get(column, column)
        if field in source_of:
            raise InvalidInput(
                f"both column {source_of[field]!r} and column {column!r} would give {field!r};"
                " rename one of them with --map",
                "--map",
            )
        source_of[field] = column
    for field in REQUIRED_FIELDS:
        if field not in source_of:
            raise InvalidInput(_missing_column(field, columns), field)
    core = {f: source_of[f] for f in CORE_FIELDS if f in source_of}
    type_of = dict(zip(columns, types, strict=True))
    properties = tuple(
        PropertyColumn(column, field, type_of[column])
        for field, column in source_of.items()
        if field not in CORE_FIELDS
    )
    return TabularLayout(core, properties)


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """For JSON Lines, whose keys vary from line to line: the key of each core field, the keys
    to drop from the properties and the properties to rename."""

    core: dict[str, str]
    dropped: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...]

    def label(self, field: str) -> str:
        key = self.core[field]
        return field if key == field else f'{field} (key "{key}")'


def key_layout(renames: dict[str, str]) -> KeyLayout:
    core = {f: f for f in CORE_FIELDS}
    for key, field in renames.items():
        if field in CORE_FIELDS:
            core[field] = key
    dropped = sorted(set(core.values()) | set(CORE_FIELDS))
    renamed = tuple((k, f) for k, f in renames.items() if f not in CORE_FIELDS)
    return KeyLayout(core, tuple(dropped), renamed)


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _missing_column(field: str, columns: Sequence[str]) -> str:
    message = f"the file has no {field} column (its columns: {_names(columns)})"
    near = [c for c in columns if c.strip().lower() == field]
    if near:
        return f"{message}; did you mean --map {near[0]}={field}?"
    return f"{message}; name one with --map COLUMN={field}"
