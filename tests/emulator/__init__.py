"""ARM emulator for provisioning tests and the provisioning benchmark (127.0.0.1, HTTPS, real SDK clients)."""

from .server import ArmEmulator, Fault, Offer

__all__ = ["ArmEmulator", "FakeCredential", "Fault", "Offer"]

import base64
import json
import time
from typing import Any


class FakeCredential:
    """A TokenCredential returning a fixed, unsigned JWT-shaped token whose `oid` names the caller."""

    def __init__(self, object_id: str = "11111111-2222-4333-8444-555555555555") -> None:
        self.object_id = object_id
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.calls += 1
        claims = base64.urlsafe_b64encode(json.dumps({"oid": self.object_id}).encode()).decode().rstrip("=")
        return AccessToken(f"eyJhbGciOiJub25lIn0.{claims}.c2ln", int(time.time()) + 3600)
