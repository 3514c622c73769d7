"""`shell`: run a command or a bash script; `##shoal:set key=value` lines become outputs.

`${...}` references in `command` reach the shell as environment variables it expands where they
stand, never as command text (see `shoal.tasks.values.shell`); with `splice_values: true` they
are pasted into the text instead (dangerous: a value can then run as code).
"""

from __future__ import annotations

import shutil
from functools import lru_cache

from pydantic import Field, ValidationInfo, field_validator

from shoal.tasks.base import Command, TaskContext, TaskParams, TaskType, literal, references_checked
from shoal.tasks.forms import written_in
from shoal.tasks.values.shell import check_shell_references, shell_launch

# A command containing any of these needs a shell; anything else is spawned directly (fast path).
_SHELL_SYNTAX = set("|&;<>()$`\\\"'*?[]#~=%{}\n!")
# Builtins that only mean something inside a shell (a binary of that name, if any, differs).
_SHELL_ONLY = frozenset(
    "cd exit export source . set unset alias eval exec read ulimit umask wait trap shift return local "
    "declare typeset let pushd popd".split()
)


@lru_cache(maxsize=1024)
def _is_program(name: str) -> bool:
    if name in _SHELL_ONLY:
        return False
    # A path is resolved against the task's working directory at spawn time.
    return "/" in name or shutil.which(name) is not None


class ShellParams(TaskParams):
    command: str = Field(
        description="a command line or a bash script, e.g. python train.py --day ${ds}; ${...} values reach it "
        "as environment variables, never as code; a printed line ##shoal:set key=value sets an output",
        json_schema_extra=written_in("shell"),
    )
    cwd: str | None = Field(
        default=None,
        description="the directory to run in; relative: to the directory the workflow was applied from "
        "(the default)",
    )
    shell: str = Field(
        default="bash",
        description="the interpreter of a command that needs a shell (pipes, quotes, several lines), e.g. bash "
        "or sh; a simple command runs directly, without one",
    )

    @field_validator("command")
    @classmethod
    def _values_can_reach(cls, v: str, info: ValidationInfo) -> str:
        if not references_checked(info):
            check_shell_references(v)
        return v

    @field_validator("shell")
    @classmethod
    def _fixed(cls, v: str) -> str:
        return literal(v, "the interpreter is code") or v


class ShellTask(TaskType):
    name = "shell"
    Params = ShellParams
    kind = "command"
    group = "general"
    description = "Run a command or a bash script. Lines it prints as ##shoal:set key=value become outputs."
    code_fields = frozenset({"command"})

    def command(self, ctx: TaskContext) -> Command:
        p: ShellParams = ctx.params
        argv, env = shell_launch(p.command, ctx.values, _SHELL_SYNTAX, _is_program, p.shell)
        return Command(argv=argv, env=env, cwd=p.cwd)
