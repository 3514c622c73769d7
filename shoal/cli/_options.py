"""Options several commands share, defined once (`Annotated[..., typer.Option(...)]`)."""

from __future__ import annotations

from typing import Annotated

import typer

# The project a command addresses without --project. Its home is `shoal.spec.models`, whose
# pydantic models take a fifth of a second to import, which `shoal --help` must not pay; a test
# (tests/cli/test_help.py) keeps the two equal.
DEFAULT_PROJECT = "default"

ProjectOpt = Annotated[str, typer.Option("--project", help="project of the workflow")]
# A run is addressed within its project: `runs stop 7` finds run 7 only if it is this project's.
RunProjectOpt = Annotated[str, typer.Option("--project", help="project of the run(s)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="show live progress until it ends; exit 0 only on success")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", metavar="KEY=VALUE", help="run-time parameter (repeatable)"),
]
