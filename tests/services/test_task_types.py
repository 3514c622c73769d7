"""The task-type listing the web UI builds its palette and forms from: every type in its group,
every field described, schemas that are JSON Schema, code fields marked, and types whose extra is
missing or that come from a plugin listed too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from shoal import services
from shoal.errors import NotFound
from shoal.services import task_types as service
from shoal.services.encoding import jsonable
from shoal.spec.models import TaskSpec
from shoal.tasks.base import GROUPS, TaskType
from shoal.tasks.forms import CODE_FORMATS
from shoal.tasks.registry import forget, get_task_type

GROUP_OF = {
    "shell": "general", "python": "general", "http": "general",
    "switch": "logic", "condition": "logic", "sub_workflow": "logic", "dependent": "logic",
    "sql": "data", "data_import": "data",
    "feature_extract": "features", "feature_deploy": "features", "online_import": "features",
    "dataset": "ml", "preprocess": "ml", "train": "ml", "evaluate": "ml", "release": "ml", "batch_predict": "ml",
}
CODE = {
    ("shell", "command"): "shell", ("python", "script"): "python", ("sql", "sql"): "sql",
    ("data_import", "sql"): "sql", ("feature_extract", "sql"): "sql", ("feature_deploy", "sql"): "sql",
    ("dataset", "sql"): "sql",
}
JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
# Keywords pydantic writes, and what each must hold to be JSON Schema (draft 2020-12).
KEYWORDS: dict[str, Callable[[Any], bool]] = {
    "type": lambda v: v in JSON_TYPES, "title": lambda v: isinstance(v, str),
    "description": lambda v: isinstance(v, str), "default": lambda v: True, "examples": lambda v: isinstance(v, list),
    "enum": lambda v: isinstance(v, list) and len(v) > 0, "const": lambda v: True,
    "properties": lambda v: isinstance(v, dict), "required": lambda v: isinstance(v, list),
    "additionalProperties": lambda v: isinstance(v, (bool, dict)), "items": lambda v: isinstance(v, (bool, dict)),
    "prefixItems": lambda v: isinstance(v, list), "anyOf": lambda v: isinstance(v, list) and len(v) > 0,
    "oneOf": lambda v: isinstance(v, list) and len(v) > 0, "discriminator": lambda v: "propertyName" in v,
    "$ref": lambda v: isinstance(v, str), "$defs": lambda v: isinstance(v, dict),
    "minimum": lambda v: _number(v), "maximum": lambda v: _number(v), "exclusiveMinimum": lambda v: _number(v),
    "exclusiveMaximum": lambda v: _number(v), "minItems": lambda v: _count(v), "maxItems": lambda v: _count(v),
    "minLength": lambda v: _count(v), "maxLength": lambda v: _count(v), "pattern": lambda v: _regex(v),
    "format": lambda v: isinstance(v, str),
}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _regex(v: Any) -> bool:
    re.compile(v)
    return True


def objects(schema: dict[str, Any], where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, sub-schema) of every schema in `schema`: properties, items, anyOf/oneOf, $defs."""
    yield where or "/", schema
    for key in ("properties", "$defs"):
        for name, sub in schema.get(key, {}).items():
            yield from objects(sub, f"{where}/{key}/{name}")
    for key in ("anyOf", "oneOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from objects(sub, f"{where}/{key}/{i}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from objects(schema[key], f"{where}/{key}")


def schema_problems(schema: dict[str, Any]) -> list[str]:
    """What makes `schema` not JSON Schema, or not one a form can be built from."""
    problems = []
    assert json.loads(json.dumps(schema)) == schema  # plain JSON
    for where, sub in objects(schema):
        for key, value in sub.items():
            if key not in KEYWORDS:
                problems.append(f"{where}: unexpected keyword {key!r}")
            elif not KEYWORDS[key](value):
                problems.append(f"{where}: {key} = {value!r} is not valid JSON Schema")
        ref = sub.get("$ref")
        if ref is not None and (not ref.startswith("#/$defs/") or ref.removeprefix("#/$defs/") not in
                                schema.get("$defs", {})):
            problems.append(f"{where}: $ref {ref} points nowhere")
        missing = set(sub.get("required", [])) - set(sub.get("properties", {}))
        if missing:
            problems.append(f"{where}: required {sorted(missing)} are not properties")
    return problems


def undescribed(schema: dict[str, Any]) -> list[str]:
    """The fields (properties, of the model and of every nested model) without a description."""
    return [
        f"{where.rstrip('/')}/properties/{name}"
        for where, sub in objects(schema)
        for name, field in sub.get("properties", {}).items()
        if not (isinstance(field.get("description"), str) and field["description"].strip())
    ]


@pytest.fixture(scope="module")
def listed() -> dict[str, service.TaskTypeInfo]:
    return {t.name: t for t in services.task_types.list_task_types()}


def test_every_built_in_type_is_listed_in_its_group_in_palette_order(listed: dict[str, Any]) -> None:
    assert {name: listed[name].group for name in GROUP_OF} == GROUP_OF
    assert GROUPS == ("general", "logic", "data", "features", "ml")
    order = [(GROUPS.index(t.group), t.name) for t in services.task_types.list_task_types()]
    assert order == sorted(order)
    for name in GROUP_OF:
        info = listed[name]
        assert info.available and info.extra is None and info.problem is None, info
        assert info.source.startswith("shoal.tasks.") and info.kind in ("command", "process", "inline", "engine")
        assert len(info.description) > 30 and "\n" not in info.description, (name, info.description)
    assert listed["condition"].trigger_rule == "all_done" and listed["shell"].trigger_rule == "all_success"
    assert listed["switch"].kind == "inline" and listed["sub_workflow"].kind == "engine"
    assert [g.name for g in services.task_types.groups()] == list(GROUPS)
    assert [g.title for g in services.task_types.groups()] == ["General", "Logic", "Data", "Features", "ML"]


@pytest.mark.parametrize("name", sorted(GROUP_OF))
def test_every_field_of_every_built_in_type_is_described(listed: dict[str, Any], name: str) -> None:
    schema = listed[name].params_schema
    assert schema is not None and schema["properties"]
    assert undescribed(schema) == [], f"give these fields of {name!r} a Field(description=...)"


@pytest.mark.parametrize("name", sorted(GROUP_OF))
def test_every_schema_is_json_schema_and_shows_the_models_defaults(listed: dict[str, Any], name: str) -> None:
    schema = listed[name].params_schema
    assert schema_problems(schema) == []
    assert schema["type"] == "object" and schema["additionalProperties"] is False  # unknown keys are refused
    model = get_task_type(name).Params
    for field_name, field in model.model_fields.items():
        shown = schema["properties"][field_name]
        if field.is_required():
            assert field_name in schema["required"] and "default" not in shown, field_name
        else:
            default = field.get_default(call_default_factory=True, validated_data={})
            assert shown["default"] == to_jsonable_python(default), field_name  # factories' too


def test_the_walk_finds_what_it_should() -> None:
    bad = {"type": "object", "properties": {"a": {"type": "str"}, "b": {"$ref": "#/$defs/N"}},
           "required": ["c"], "$defs": {"M": {"type": "object", "properties": {"x": {"description": " "}}}}}
    assert schema_problems(bad) == [
        "/: required ['c'] are not properties", "/properties/a: type = 'str' is not valid JSON Schema",
        "/properties/b: $ref #/$defs/N points nowhere",
    ]
    assert undescribed(bad) == ["/properties/a", "/properties/b", "/$defs/M/properties/x"]


def test_code_fields_say_their_language_for_the_editor(listed: dict[str, Any]) -> None:
    marked = {
        (name, field): prop["format"]
        for name, info in listed.items() if name in GROUP_OF
        for field, prop in info.params_schema["properties"].items() if "format" in prop
    }
    assert marked == CODE
    assert set(CODE.values()) == set(CODE_FORMATS)


def test_the_common_task_fields_are_one_described_schema() -> None:
    common = services.task_types.task_fields_schema()
    assert schema_problems(common) == [] and undescribed(common) == []
    props = common["properties"]
    assert {"name", "type", "upstream", "params", "retries", "retry_delay", "retry_backoff", "timeout", "priority",
            "trigger_rule", "resources", "env", "splice_values"} <= set(props)
    assert props["retries"]["default"] == 0 and props["retries"]["maximum"] == 100
    assert props["trigger_rule"]["anyOf"][0]["enum"] == ["all_success", "all_done", "none_failed", "one_success"]
    assert props["resources"]["default"] == {"cpu": 1.0, "memory": 0, "gpu": 0}
    assert props["priority"]["minimum"] == -1_000_000 and props["priority"]["maximum"] == 1_000_000
    # A duration or a memory size is a number or text with a unit, as the workflow file takes it.
    duration = props["timeout"]["anyOf"]
    assert duration[0]["type"] == "number" and duration[-1] == {"type": "null"}
    for text in ("30s", "5m", "250ms", "2h", "1d", "90"):
        assert re.match(duration[1]["pattern"], text), text
    assert not re.match(duration[1]["pattern"], "soon")
    memory = common["$defs"]["Resources"]["properties"]["memory"]["anyOf"]
    assert memory[0]["type"] == "integer" and re.match(memory[1]["pattern"], "512Mi")
    assert TaskSpec(name="a", type="shell", timeout="30s", resources={"memory": "512Mi"}).timeout == 30.0
    services.task_types.task_fields_schema()["properties"].clear()  # each caller gets its own copy
    assert services.task_types.task_fields_schema()["properties"]


def test_the_catalog_is_json_with_groups_common_and_items() -> None:
    body = json.loads(json.dumps(services.task_types.catalog(), default=jsonable))
    assert set(body) == {"groups", "common", "items"}
    assert body["groups"][0] == {"name": "general", "title": "General"}
    shell = next(t for t in body["items"] if t["name"] == "shell")
    assert set(shell) == {"name", "group", "description", "kind", "available", "trigger_rule", "source",
                          "params_schema", "extra", "problem"}
    assert shell["params_schema"]["properties"]["command"]["format"] == "shell"


def test_one_type_and_an_unknown_one() -> None:
    assert services.task_types.get_task_type("train").group == "ml"
    with pytest.raises(NotFound) as err:
        services.task_types.get_task_type("shel")
    assert "unknown task type 'shel' (did you mean 'shell'?)" in str(err.value)
    assert err.value.details["task_type"] == "shel" and "shell" in err.value.details["known"]
    with pytest.raises(NotFound, match="the installed types are: batch_predict, condition"):
        services.task_types.get_task_type("nothing_like_it")


# -- types that cannot be used here ---------------------------------------------------------------


def test_a_type_whose_extra_is_missing_is_listed_with_what_to_install(hide: Callable[..., None]) -> None:
    hide("gensim")
    listed = {t.name: t for t in services.task_types.list_task_types()}
    train = listed["train"]
    assert not train.available and train.group == "ml" and train.kind == "process"
    assert train.extra == service.ExtraNeeded("ml", ("gensim",), "pip install 'shoal[ml]'")
    assert "pip install 'shoal[ml]'" in (train.problem or "")
    assert undescribed(train.params_schema) == []  # its module imports without the extra: its form is shown
    assert listed["shell"].available and listed["data_import"].available


def test_without_any_extra_every_type_is_listed_in_its_group() -> None:
    """A core-only install, in a fresh process that can import none of the extras' modules: the
    feature types' module cannot be imported at all, the ML types' can (their form is shown)."""
    code = (
        "import json, sys\n"
        "from shoal._extras import EXTRAS\n"
        "sys.modules.update((m, None) for ms in EXTRAS.values() for m in ms)\n"
        "from shoal import services\n"
        "print(json.dumps([[t.name, t.group, t.available, t.params_schema is not None, t.extra and t.extra.name]\n"
        "                  for t in services.task_types.list_task_types()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listed = {name: rest for name, *rest in json.loads(done.stdout)}
    assert {name: group for name, (group, *_) in listed.items() if name in GROUP_OF} == GROUP_OF
    for name in ("shell", "python", "switch", "condition", "sub_workflow", "dependent"):
        assert listed[name] == [GROUP_OF[name], True, True, None], name
    for name in ("data_import", "feature_extract", "feature_deploy", "online_import"):
        assert listed[name] == [GROUP_OF[name], False, False, "features"], name
    for name in ("dataset", "preprocess", "train", "evaluate", "release", "batch_predict"):
        assert listed[name] == ["ml", False, True, "ml"], name
    assert listed["sql"] == ["data", False, True, "features"] and listed["http"] == ["general", False, True, "http"]


def test_the_groups_of_unimportable_types_match_their_classes() -> None:
    for source, group in service.UNIMPORTABLE_GROUPS.items():
        name = next(t.name for t in services.task_types.list_task_types() if t.source == source)
        assert type(get_task_type(name)).group == group, source


# -- plugins ------------------------------------------------------------------------------------------

PLUGIN = '''
from pydantic import Field

from shoal.tasks.base import TaskParams, TaskType


class WaitParams(TaskParams):
    path: str = Field(description="the file to wait for")


class WaitForFile(TaskType):
    """Wait until a file exists.

    Polls every second.
    """

    name = "wait_for_file"
    Params = WaitParams
    group = "sensors"


class Old(TaskType):
    name = "old"
    Params = WaitParams
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real installed distributions declaring a type with its own group, one written before
    groups existed, one whose class does not exist, and one name twice."""
    site = tmp_path / "site"
    (site / "waitplugin.py").parent.mkdir()
    (site / "waitplugin.py").write_text(textwrap.dedent(PLUGIN))
    for dist, entry_points in [
        ("waitplugin", "wait_for_file = waitplugin:WaitForFile\nold = waitplugin:Old\nbroken = waitplugin:Nope\n"
                       "twin = waitplugin:Old\n"),
        ("otherplugin", "twin = waitplugin:WaitForFile\n"),
    ]:
        info = site / f"{dist}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[shoal.tasks]\n{entry_points}")
    monkeypatch.syspath_prepend(str(site))
    forget()
    yield
    monkeypatch.undo()
    forget()
    sys.modules.pop("waitplugin", None)


def test_plugin_types_are_listed_and_a_new_group_comes_last(plugin: None) -> None:
    listed = services.task_types.list_task_types()
    names = [t.name for t in listed]
    wait, old, broken = (next(t for t in listed if t.name == n) for n in ("wait_for_file", "old", "broken"))
    assert wait.group == "sensors" and wait.description == "Wait until a file exists." and wait.available
    assert wait.source == "waitplugin:WaitForFile" and wait.params_schema["required"] == ["path"]
    assert names[-1] == "wait_for_file"  # its own group, after shoal's
    assert [g.name for g in services.task_types.groups()] == [*GROUPS, "sensors"]
    assert [g.title for g in services.task_types.groups()][-1] == "Sensors"
    assert old.group == "general" and old.description == "" and old.available
    assert not broken.available and broken.group == "general" and broken.params_schema is None
    assert "waitplugin:Nope" in (broken.problem or "")
    twin = services.task_types.get_task_type("twin")
    assert not twin.available and "registered twice" in (twin.problem or "") and " and " in twin.source


def test_describe_is_the_description_or_the_docstrings_first_paragraph() -> None:
    class Documented(TaskType):
        """Wait for a
        partition.

        More detail."""

    class Described(Documented):
        description = "Explicit."

    class Bare(Documented):
        pass

    assert Documented.describe() == "Wait for a partition."
    assert Described.describe() == "Explicit."
    assert Bare.describe() == ""  # not its parent's docstring
