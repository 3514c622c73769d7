# expect: invalid Python
# line: 6
from shoal.spec.sdk import workflow

with workflow("broken") as wf:
    wf.shell("a", command="echo a"
