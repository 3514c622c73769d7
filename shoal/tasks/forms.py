"""A task's params as the web UI's form: the `Params` model's JSON Schema, with two conventions.

- Every field has a `description` (pydantic `Field(description=...)`), written for the person
  filling the form: what it is, its unit, an example. `tests/services/test_task_types.py` fails
  for a field of a built-in type without one, nested models (`$defs`) included.
- A field whose text is code carries `"format": "<language>"` beside its `type` (or `anyOf`),
  so the UI can open a code editor with that language's highlighting: `written_in("sql")`,
  `"shell"` or `"python"` (`CODE_FORMATS`). It says nothing about how values reach the code:
  that is the type's `code_fields`.

`form_schema(model)` is the schema the UI gets: pydantic's, plus the defaults of fields whose
default comes from a factory (`Field(default_factory=list)`), which pydantic leaves out.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

CodeFormat = Literal["sql", "shell", "python"]
CODE_FORMATS: tuple[str, ...] = ("sql", "shell", "python")


def written_in(language: CodeFormat) -> dict[str, Any]:
    """`json_schema_extra` of a field whose text is code in `language`."""
    return {"format": language}


class FormSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, with `default` also for fields whose default a factory makes: a
    form shows `[]` or `{"cpu": 1.0, ...}` as it shows `"GET"`."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return schema.get("default", NoDefault)


def form_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema the UI renders as `model`'s form (validation mode: what a user writes)."""
    return model.model_json_schema(schema_generator=FormSchema)
