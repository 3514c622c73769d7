# expect: workflow 'etl' is defined twice
# field: name
# line: 9
from shoal.spec.sdk import workflow

with workflow("etl") as wf:
    wf.shell("extract", command="echo one")

with workflow("etl") as wf:
    wf.shell("load", command="echo two")
