"""Generate a starter repo: plan the files from a spec (pure), then write them atomically."""

from scaffolder.generate._plan import FilePlan, PlannedFile, plan_files, template_context, with_pristine
from scaffolder.generate._write import FileAction, plan_actions, write_plan

__all__ = ["FileAction", "FilePlan", "PlannedFile", "plan_actions", "plan_files", "template_context", "with_pristine",
           "write_plan"]
