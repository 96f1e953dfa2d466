"""Provisioning through the Azure SDK: the pure resource plan, preflight checks, apply and destroy.

Named `provisioning` (not `provision`) so that importing it never shadows the `scaffolder.provision`
function of the public API. Azure SDK modules load only when a function talks to ARM.
"""
