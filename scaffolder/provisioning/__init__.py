"""Provisioning through the Azure SDK: the pure resource plan, preflight checks, apply and destroy.

The library surface is `api.Provisioner` with `api.ArmOptions` (exported as `scaffolder.Provisioner`). Azure SDK
modules load only when a function talks to ARM.
"""
