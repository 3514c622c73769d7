"""How a run's values reach a task's code, as data: never re-parsed as code.

Run-time params, workflow params, upstream outputs and date expressions are *values*. A field
whose text is code (a shell command, a SQL statement, a Python script, a URL or a request body)
keeps its `${...}` references as written; the driver resolves each reference to its value
(`shoal.spec.templating.resolve_references`, handed to the task as `ctx.values`) and the task
type passes it the way its language keeps data apart from code:

- `shell`: each reference becomes an environment variable that the shell expands where the
  reference stood (`"${SHOAL_PARAM_x}"`); the shell never parses the value. A command with no
  other shell syntax is still spawned directly, the value being one argument.
- `sql`: each reference becomes a bound query parameter; a reference inside a string literal
  makes the whole literal a parameter; inside a double-quoted name it is escaped as a name.
- `http`: values are percent-encoded in a URL's path and query, JSON-encoded in a JSON body,
  form-encoded in a form body, and refused in headers if they hold a line break.
- `python` scripts: a value becomes a Python literal (`repr`), never code.

A task with `splice_values: true` opts out: its values are pasted into the text, as in
DolphinScheduler. That is dangerous (a value can then run as code) and documented as such.
"""

from __future__ import annotations

from shoal.tasks.values.shell import shell_launch

__all__ = ["shell_launch"]
