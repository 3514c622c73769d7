# expect: the file defines no workflow: create one at module level
from shoal.spec.sdk import workflow

builder_factory = workflow
