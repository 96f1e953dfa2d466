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
# The name may carry a prefix (AZURE_OPENAI_API_KEY, x-api-key, Ocp-Apim-Subscription-Key: env dumps and
# headers are where keys leak), and the pair may sit inside a JSON string (--json escapes its quotes: \").
_Q = r"(?:\\?[\"'])?"
_NAMED = re.compile(
    r"(?i)(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]*?(?:client[_-]?secret|access[_-]?token|refresh[_-]?token|id[_-]?token"
    r"|api[_-]?key|secret|password|passwd|account[_-]?key|primary[_-]?key|secondary[_-]?key|subscription[_-]?key"
    r"|connection[_-]?string)" + _Q + r"\s*[:=]\s*" + _Q + r")"
    r"(?!\*\*\*)[^\s\"'\\,;&]+"
)
# `...token` only as an assignment or a quoted key: "cannot get token: credential unavailable" is a message.
_TOKEN = re.compile(
    r"(?i)(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]*token" + _Q + r"\s*=\s*" + _Q
    + r"|\\?[\"'][A-Za-z0-9_.-]*token\\?[\"']\s*:\s*" + _Q + r")(?!\*\*\*)[^\s\"'\\,;&]+"
)
# Shapes recognisable without a key name.
_BARE = (
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # a JWT (access or id token)
    re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}=="),  # a 512-bit base64 key (Storage, Cognitive Services)
    re.compile(r"\b[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}"),  # an Entra client secret
    re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),  # an OpenAI-style API key
    re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),  # a GitHub token
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # an AWS access key id
)


def scrub(text: str) -> str:
    """Text with every known secret shape replaced by ***; everything else untouched."""
    if not text:
        return text
    for pattern in (_KEYED, _SAS, _BEARER, _AUTH_HEADER, _NAMED, _TOKEN):
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    for bare in _BARE:
        text = bare.sub(MASK, text)
    return text
