# expect: unknown upstream task 'extrakt' (did you mean 'extract'?)
# task: train
# field: upstream[0]
# line: 9
from shoal.spec.sdk import workflow

with workflow("sdk_unknown_upstream") as wf:
    wf.shell("extract", command="echo hi")
    wf.python("train", callable="m:train", upstream=["extrakt"])
