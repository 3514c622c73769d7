"""Secret params: a workflow lists the params whose values must never be shown.

    params: {api_token: ""}
    secrets: [api_token]

A secret's value reaches its tasks like any value (an environment variable, a bound parameter),
but wherever shoal shows something it is `***`: the definition (`workflow show`, `--json`,
`export`), a run's params, task logs, errors and outputs. An exported definition carries `***`,
and applying a definition whose secret reads `***` keeps the value stored before, so an export
applies back without losing it (as password fields in a form do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from shoal.errors import ShoalError

if TYPE_CHECKING:  # for annotations only: reading runs masks params without the models loaded
    from shoal.spec.models import Workflow

MASK = "***"
# Shorter values are not masked inside text: "1" would turn every digit of a log into `***`.
MIN_MASKED_LENGTH = 3


def masked_params(params: Mapping[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """`params` with the value of each secret name shown as `***`."""
    names = set(secrets)
    return {k: (MASK if k in names else v) for k, v in params.items()}


def masked_definition(wf: Workflow) -> Workflow:
    """The definition with each secret param's value (workflow's and tasks') shown as `***`."""
    if not wf.secrets:
        return wf
    names = set(wf.secrets)
    tasks = [
        t.model_copy(update={"params": masked_params(t.params, names)}) if names & set(t.params) else t
        for t in wf.tasks
    ]
    return wf.model_copy(update={"params": masked_params(wf.params, names), "tasks": tasks})


def reads_masked_secret(wf: Workflow) -> bool:
    """Whether a secret param of `wf` (the workflow's or a task's) reads `***`."""
    names = set(wf.secrets)
    return any(k in names and v == MASK for params in (wf.params, *(t.params for t in wf.tasks))
               for k, v in params.items())


def keep_stored_secrets(wf: Workflow, stored: Workflow) -> Workflow:
    """`wf` with each secret that reads `***` given back the value `stored` has for it."""
    names = set(wf.secrets)
    before_tasks = {t.name: t.params for t in stored.tasks}

    def restore(params: Mapping[str, str], before: Mapping[str, str]) -> dict[str, str]:
        return {k: (before[k] if v == MASK and k in names and k in before else v) for k, v in params.items()}

    tasks = [t.model_copy(update={"params": restore(t.params, before_tasks.get(t.name, {}))}) for t in wf.tasks]
    return wf.model_copy(update={"params": restore(wf.params, stored.params), "tasks": tasks})


def secret_values(names: Iterable[str], scope: Any) -> tuple[str, ...]:
    """The values the secret params `names` have in a templating `scope`, longest first (those
    long enough to mask). A reference that cannot be resolved is left out: its task fails on it."""
    found: set[str] = set()
    for name in names:
        if scope.has_param(name):
            try:
                found.add(scope.param(name))
            except ShoalError:
                continue
    return tuple(sorted((v for v in found if len(v) >= MIN_MASKED_LENGTH), key=len, reverse=True))


def mask_text(text: str, values: Iterable[str]) -> str:
    """`text` with every occurrence of a secret value replaced by `***` (longest first)."""
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= MIN_MASKED_LENGTH and value in text:
            text = text.replace(value, MASK)
    return text


def mask_value(obj: Any, values: Iterable[str]) -> Any:
    """`obj` (dicts and lists walked) with the secret values in its strings masked."""
    values = list(values)
    if not values:
        return obj
    if isinstance(obj, str):
        return mask_text(obj, values)
    if isinstance(obj, dict):
        return {k: mask_value(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [mask_value(v, values) for v in obj]
    return obj
