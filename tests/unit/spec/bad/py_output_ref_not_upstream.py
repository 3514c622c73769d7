# expect: 'train' is not an upstream task of 'report'
# task: report
# field: command
# line: 10
from shoal.spec.sdk import workflow

wf = workflow("sdk_refs")
extract = wf.shell("extract", command="echo hi")
train = wf.python("train", callable="m:train", upstream=[extract])
report = wf.shell("report", command="echo ${train.auc}")
extract >> report
