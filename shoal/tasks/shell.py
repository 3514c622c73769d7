"""`shell`: run a command or a bash script; `##shoal:set key=value` lines become outputs."""

from __future__ import annotations

import shlex
import shutil
from functools import lru_cache

from pydantic import Field

from shoal.tasks.base import Command, TaskContext, TaskParams, TaskType

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


class ShellTask(TaskType):
    name = "shell"
    Params = ShellParams
    kind = "command"

    def command(self, ctx: TaskContext) -> Command:
        p: ShellParams = ctx.params
        text = p.command.strip()
        if text and not (_SHELL_SYNTAX & set(text)):
            argv = shlex.split(text)
            if _is_program(argv[0]):
                # A plain command line: spawn the program itself, no shell in between.
                return Command(argv=argv, cwd=p.cwd)
        return Command(argv=[p.shell, "-c", p.command], cwd=p.cwd)
