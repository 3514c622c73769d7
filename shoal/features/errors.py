"""Errors of the feature engine: each names what is wrong and where."""

from __future__ import annotations

from shoal.errors import InvalidInput, NotFound


class FeatureSqlError(InvalidInput):
    """A feature SQL uses something unsupported or wrong, at `line`:`col` of the text."""

    code = "feature_sql_error"

    def __init__(self, message: str, line: int | None = None, col: int | None = None) -> None:
        where = f"line {line}, col {col}: " if line is not None else ""
        super().__init__(f"{where}{message}", line=line, col=col)
        self.line = line
        self.col = col


class RowError(InvalidInput):
    """A request or insert row is missing a needed field or has a value of the wrong type."""

    code = "row_error"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field=field)
        self.field = field


class FeatureSetNotFound(NotFound):
    code = "feature_set_not_found"


class TableNotFound(NotFound):
    code = "table_not_found"
