# expect: the file defines no workflow: create one with `with shoal.spec.sdk.workflow(...) as wf:`
from shoal.spec.sdk import workflow

builder_factory = workflow
