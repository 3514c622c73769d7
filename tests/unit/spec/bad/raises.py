# expect: running the file raised ZeroDivisionError: division by zero
# line: 8
from shoal.spec.sdk import workflow

with workflow("raises") as wf:
    wf.shell("a", command="echo a")

ratio = 1 / 0
