"""The preprocessing steps' configs: pydantic models only, so the `preprocess` task type can use
them as its params (the web UI renders their JSON Schema) without importing numpy and pandas.
`shoal.ml.preprocess` fits and applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shoal.ml.errors import MLError


class _StepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    columns: list[str] = Field(min_length=1, description="the columns this step transforms, e.g. [clicks, age]")


class FillMissing(_StepConfig):
    """Replace missing values: by the train mean/median/most frequent value, or by `value`."""

    type: Literal["fill_missing"] = Field(description="the step type")
    strategy: Literal["mean", "median", "most_frequent", "constant"] = Field(
        default="mean",
        description="what a missing value becomes: the training mean, median or most frequent value, or "
        "constant (value); text columns: most_frequent or constant",
    )
    value: float | int | bool | str | None = Field(
        default=None, description="the fill value of strategy: constant, e.g. 0 or unknown",
    )

    @pydantic.model_validator(mode="after")
    def _constant_needs_value(self) -> FillMissing:
        if self.strategy == "constant" and self.value is None:
            raise ValueError("strategy 'constant' needs a value, e.g. \"value\": 0")
        return self


class StandardScale(_StepConfig):
    """(x - mean) / std with train mean and population std; std 0 divides by 1."""

    type: Literal["standard_scale"] = Field(description="the step type")


class MinMaxScale(_StepConfig):
    """(x - min) / (max - min) with train min/max; a constant column becomes 0."""

    type: Literal["minmax_scale"] = Field(description="the step type")


class Log(_StepConfig):
    """sign(x) * log1p(|x|): defined for negative values too, and 0 stays 0."""

    type: Literal["log"] = Field(description="the step type")


class Bucketize(_StepConfig):
    """Bucket index i (as a float) such that boundaries[i-1] <= x < boundaries[i].

    Give `boundaries` (ascending) or `n_buckets` (quantile boundaries fitted on train).
    """

    type: Literal["bucketize"] = Field(description="the step type")
    boundaries: list[Annotated[float, Field(allow_inf_nan=False)]] | None = Field(
        default=None, description="the bucket edges, ascending, e.g. [0, 10, 100]. Give this or n_buckets",
    )
    n_buckets: int | None = Field(
        default=None, ge=2,
        description="how many buckets of about equal size, edges fitted on the training samples (at least 2). "
        "Give this or boundaries",
    )

    @pydantic.model_validator(mode="after")
    def _one_of(self) -> Bucketize:
        if (self.boundaries is None) == (self.n_buckets is None):
            raise ValueError("give exactly one of boundaries (a list of numbers) or n_buckets (an integer >= 2)")
        b = self.boundaries
        if b is not None and any(lo >= hi for lo, hi in zip(b, b[1:], strict=False)):
            raise ValueError("boundaries must be strictly ascending")
        return self


class OneHot(_StepConfig):
    """One 0/1 column `col=value` per category kept (the `max_categories` most frequent, ties by value)."""

    type: Literal["one_hot"] = Field(description="the step type")
    max_categories: int = Field(
        default=50, ge=1,
        description="keep a column for each of this many most frequent categories; others give all zeros",
    )


class Hash(_StepConfig):
    """crc32(category) % n_buckets: stable across processes and machines, unlike Python's hash()."""

    type: Literal["hash"] = Field(description="the step type")
    n_buckets: int = Field(default=1024, ge=1, description="how many hash buckets a category falls into, e.g. 1024")


class LabelEncode(_StepConfig):
    """Position of the category in the sorted train categories; unknown categories give -1."""

    type: Literal["label_encode"] = Field(description="the step type")


StepConfig = Annotated[
    FillMissing | StandardScale | MinMaxScale | Log | Bucketize | OneHot | Hash | LabelEncode,
    Field(discriminator="type"),
]
_STEP_ADAPTER: TypeAdapter[Any] = TypeAdapter(StepConfig)


def parse_step(index: int, raw: Mapping[str, Any]) -> _StepConfig:
    """Validate one step dict; errors name the step index, its type and the field."""
    if not isinstance(raw, Mapping):
        raise MLError(f"step {index} must be an object like {{\"type\": \"standard_scale\", \"columns\": [...]}}",
                      step=index)
    try:
        return _STEP_ADAPTER.validate_python(dict(raw))
    except pydantic.ValidationError as exc:
        kind = raw.get("type")
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            if loc and loc[0] == kind:  # the union puts the tag first
                loc = loc[1:]
            where = f"field {'.'.join(loc)!r}: " if loc else ""
            problems.append(where + err["msg"])
        raise MLError(f"step {index} ({kind or 'no type'}): " + "; ".join(problems), step=index) from None
