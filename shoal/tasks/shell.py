"""`shell`: run a command or a bash script; `##shoal:set key=value` lines become outputs.

`${...}` references in `command` reach the shell as environment variables it expands where they
stand, never as command text (see `shoal.tasks.values.shell`); with `splice_values: true` they
are pasted into the text instead (dangerous: a value can then run as code).
"""

from __future__ import annotations

import shlex
import shutil
from functools import lru_cache

from pydantic import Field, ValidationInfo, field_validator

from shoal.tasks.base import Command, TaskContext, TaskParams, TaskType, is_spliced, literal
from shoal.tasks.values.shell import check_shell_references, shell_script, spawn_argv

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
    command: str = Field(description="command line or bash script; `##shoal:set k=v` lines set outputs")
    cwd: str | None = Field(default=None, description="working directory (default: the run's work dir)")
    shell: str = Field(default="bash", description="interpreter for scripts that need a shell")

    @field_validator("command")
    @classmethod
    def _values_can_reach(cls, v: str, info: ValidationInfo) -> str:
        if not is_spliced(info):
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
    code_fields = frozenset({"command"})

    def command(self, ctx: TaskContext) -> Command:
        p: ShellParams = ctx.params
        text = p.command.strip()
        spliced = ctx.values is None  # the text was rendered already: it is final
        if text:
            # Decided from the command as written: a value is one argument, whatever it holds.
            if spliced:
                argv = None if _SHELL_SYNTAX & set(text) else shlex.split(text)
            else:
                argv = spawn_argv(text, ctx.values or {}, _SHELL_SYNTAX)
            if argv and _is_program(argv[0]):
                # A plain command line: spawn the program itself, no shell in between.
                return Command(argv=argv, cwd=p.cwd)
        script, env = (p.command, {}) if spliced else shell_script(p.command, ctx.values or {})
        return Command(argv=[p.shell, "-c", script], env=env, cwd=p.cwd)
