# expect: expected a number at least 0, got -1
# task: train
# field: retries
# line: 9
from shoal.spec.sdk import workflow

with workflow("sdk_bad_field") as wf:
    extract = wf.shell("extract", command="echo hi")
    train = wf.python("train", callable="m:train", upstream=[extract], retries=-1)
