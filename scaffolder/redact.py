"""Scrub known secret shapes (keys, connection strings, SAS signatures, tokens) from text the CLI prints."""

from __future__ import annotations

import re

MASK = "***"

# Each pattern keeps what names the secret (group 1) and masks the value; the shapes are the documented ones:
# - connection strings: Application Insights (InstrumentationKey=...), Storage (AccountKey=...), Service Bus /
#   Event Hubs (SharedAccessKey=...), SQL (Password=...);
# - SAS tokens: the `sig=` query parameter is the signature;
# - HTTP credentials: `Authorization: ...`, `Bearer <token>`;
# - key=value / "key": "value" pairs whose key names a secret (client_secret, api-key, access_token, ...).
_KEYED = re.compile(
    r"(?i)\b((?:InstrumentationKey|AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret)"
    r"\s*=\s*)[^;\s\"'<>]+"
)
_SAS = re.compile(r"(?i)([?&;]sig=)[^&\s\"'<>;]+")
_BEARER = re.compile(r"(?i)\b(Bearer\s+)[A-Za-z0-9\-._~+/]+=*")
_AUTH_HEADER = re.compile(r"(?i)\b(Authorization[\"']?\s*[:=]\s*[\"']?)(?!Bearer\b)[^\s\"',;]+")
_NAMED = re.compile(
    r"(?i)\b((?:client[_-]?secret|access[_-]?token|refresh[_-]?token|id[_-]?token|api[_-]?key|secret|password"
    r"|account[_-]?key|primary[_-]?key|secondary[_-]?key|connection[_-]?string)[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\*\*\*)[^\s\"',;&]+"
)
# Shapes recognisable without a key name.
_BARE = (
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # a JWT (access or id token)
    re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}=="),  # a 512-bit base64 key (Storage, Cognitive Services)
    re.compile(r"\b[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}"),  # an Entra client secret
    re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),  # an OpenAI-style API key
)


def scrub(text: str) -> str:
    """Text with every known secret shape replaced by ***; everything else untouched."""
    if not text:
        return text
    for pattern in (_KEYED, _SAS, _BEARER, _AUTH_HEADER, _NAMED):
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    for bare in _BARE:
        text = bare.sub(MASK, text)
    return text
