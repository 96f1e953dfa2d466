"""Bicep/ARM `uniqueString()` and `guid()` in Python, so the SDK path names resources exactly as the Bicep does.

Both are public algorithms of the ARM template engine:
- uniqueString: the arguments joined with '-', UTF-8 encoded, hashed with Microsoft's 64-bit Murmur
  variant (two 32-bit lanes, seed 0) and written as 13 characters of lowercase RFC 4648 base32, top bits
  first. Ported from the MIT-licensed ports in EmmittJ/Aspire.Hosting.Pulumi.Azure `ArmFunctions.cs`
  and the azapi Terraform provider's `unique_string` function (Go), which agree with each other; the
  test vectors in tests/provision come from a public port's self-test "verified against Bicep output".
- guid: an RFC 4122 version-5 (SHA-1, name-based) UUID over the '-'-joined arguments in the ARM
  namespace 11fb06fb-712d-4ddd-98c7-e71bbd588830 (Azure.Deployments.Expression ARMNamespaceGuid, as
  quoted by the same C# port and the Bicep string-functions docs). Python's uuid5 hashes the namespace
  in RFC (big-endian) byte order, which is what the C# port gets after its byte swap.
"""

from __future__ import annotations

import uuid

ARM_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_M32 = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 2246822507) & _M32
    h ^= h >> 13
    h = (h * 3266489909) & _M32
    return h ^ (h >> 16)


def murmur_hash64(data: bytes, seed: int = 0) -> int:
    """The 64-bit Murmur variant behind ARM's uniqueString (not the textbook MurmurHash64A)."""
    length = len(data)
    h1 = h2 = seed & _M32
    index = 0
    while index + 7 < length:
        k1 = int.from_bytes(data[index : index + 4], "little")
        k2 = int.from_bytes(data[index + 4 : index + 8], "little")
        k1 = (_rotl((k1 * 597399067) & _M32, 15) * 2869860233) & _M32
        h1 = _rotl(h1 ^ k1, 19)
        h1 = (((h1 + h2) & _M32) * 5 + 1444728091) & _M32
        k2 = (_rotl((k2 * 2869860233) & _M32, 17) * 597399067) & _M32
        h2 = _rotl(h2 ^ k2, 13)
        h2 = (((h2 + h1) & _M32) * 5 + 197830471) & _M32
        index += 8
    tail = length - index
    if tail > 0:
        k1 = int.from_bytes(data[index : index + min(tail, 4)], "little")
        h1 ^= (_rotl((k1 * 597399067) & _M32, 15) * 2869860233) & _M32
        if tail > 4:
            # -1425107063 as an unsigned 32-bit multiplier equals 2869860233.
            k2 = int.from_bytes(data[index + 4 : index + tail], "little")
            h2 ^= (_rotl((k2 * 2869860233) & _M32, 17) * 597399067) & _M32
    h1 ^= length
    h2 ^= length
    h1 = (h1 + h2) & _M32
    h2 = (h2 + h1) & _M32
    h1 = _fmix(h1)
    h2 = _fmix(h2)
    h1 = (h1 + h2) & _M32
    h2 = (h2 + h1) & _M32
    return (h2 << 32) | h1


def unique_string(*values: str) -> str:
    """Bicep `uniqueString(values...)`: 13 base32 characters, deterministic and case-sensitive."""
    if not values:
        raise ValueError("uniqueString needs at least one argument")
    value = murmur_hash64("-".join(values).encode("utf-8"))
    out = []
    for _ in range(13):
        out.append(_BASE32[value >> 59])
        value = (value << 5) & 0xFFFFFFFFFFFFFFFF
    return "".join(out)


def guid(*values: str) -> str:
    """Bicep `guid(values...)`: the version-5 UUID of the '-'-joined values in the ARM namespace."""
    if not values:
        raise ValueError("guid needs at least one argument")
    return str(uuid.uuid5(ARM_GUID_NAMESPACE, "-".join(values)))
