# expect: undefined parameter ${threshold}
# task: extract
# field: command
# line: 9
from shoal.spec.sdk import workflow

for region in ["cn", "us"]:
    with workflow(f"etl_{region}") as wf:
        wf.shell("extract", command="echo ${threshold}" if region == "cn" else "echo ok")
