"""The live model catalog: a region's models from ARM (models.list), cached per region, merged with the shipped one."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from scaffolder import catalog
from scaffolder.catalog import CatalogModel, LifecycleStatus, State, arm_date, arm_state
from scaffolder.errors import CatalogError, CredentialError, ProvisionError, SpecError

# A cached region list newer than this many days is used by `new` and `check` instead of the shipped dates.
FRESH_DAYS = 7
CACHE_FORMAT = 1
# A region's list is well under 1 MiB (~300 models); a bigger cache file is not one of ours.
MAX_CACHE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class LiveModel:
    """One model version a region offers, as ARM's models.list describes it."""

    name: str
    version: str
    format: str
    lifecycle: str = ""
    retires: dt.date | None = None  # deprecation.inference: the day inference stops
    skus: tuple[str, ...] = ()
    capabilities: Mapping[str, str] = field(default_factory=dict)
    usage_names: Mapping[str, str] = field(default_factory=dict)  # SKU -> the quota it draws on (skus[].usageName)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the cache file and --json)."""
        return {"name": self.name, "version": self.version, "format": self.format, "lifecycle": self.lifecycle,
                "retires": self.retires.isoformat() if self.retires else None, "skus": list(self.skus),
                "capabilities": dict(self.capabilities), "usage_names": dict(self.usage_names)}


@dataclass(frozen=True)
class Snapshot:
    """A region's model list at one moment."""

    location: str
    fetched: dt.datetime
    models: tuple[LiveModel, ...]

    def find(self, name: str, version: str) -> LiveModel | None:
        """The entry for one model version, if the region lists it."""
        return next((m for m in self.models if m.name == name and m.version == version), None)

    def names(self) -> set[str]:
        """Every model name the region lists."""
        return {m.name for m in self.models}

    def age_days(self, today: dt.date) -> int:
        """Whole days between the fetch and today."""
        return (today - self.fetched.date()).days

    def is_fresh(self, today: dt.date) -> bool:
        """Fetched within FRESH_DAYS of today (and not in today's future)."""
        return 0 <= self.age_days(today) <= FRESH_DAYS

    def describe(self) -> str:
        """How `new` and `check` name the data they used."""
        return f"Azure's model list for {self.location} fetched {self.fetched.date()} (cache)"

    def to_json(self) -> str:
        """The cache file's text."""
        doc = {"format": CACHE_FORMAT, "location": self.location, "fetched": self.fetched.isoformat(),
               "models": [m.as_dict() for m in self.models]}
        return json.dumps(doc, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        """Parse a cache file; ValueError when it is not one."""
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT:
            raise ValueError("not a model-list cache of this version")
        models = tuple(
            LiveModel(name=str(m["name"]), version=str(m["version"]), format=str(m.get("format", "")),
                      lifecycle=str(m.get("lifecycle") or ""),
                      retires=dt.date.fromisoformat(m["retires"]) if m.get("retires") else None,
                      skus=tuple(m.get("skus") or ()), capabilities=dict(m.get("capabilities") or {}),
                      usage_names={str(k): str(v) for k, v in dict(m.get("usage_names") or {}).items()})
            for m in doc["models"]
        )
        return cls(str(doc["location"]), dt.datetime.fromisoformat(doc["fetched"]), models)


def parse_models(items: Iterable[Mapping[str, Any]], location: str, fetched: dt.datetime) -> Snapshot:
    """Turn models.list items (ARM JSON) into a Snapshot; one entry per model name and version."""
    seen: dict[tuple[str, str], LiveModel] = {}
    for item in items:
        model = item.get("model") or {}
        name, version = model.get("name"), model.get("version")
        if not name or not version:
            continue
        retires = arm_date((model.get("deprecation") or {}).get("inference"))
        skus = tuple(str(s.get("name")) for s in model.get("skus") or () if s.get("name"))
        caps = {str(k): str(v) for k, v in (model.get("capabilities") or {}).items()}
        usages = {str(s["name"]): str(s["usageName"]) for s in model.get("skus") or ()
                  if s.get("name") and s.get("usageName")}
        key = (str(name), str(version))
        previous = seen.get(key)
        if previous is not None:  # the same model is listed once per account kind: merge the SKUs
            skus = tuple(dict.fromkeys(previous.skus + skus))
            usages = {**previous.usage_names, **usages}
        seen[key] = LiveModel(str(name), str(version), str(model.get("format") or ""),
                              str(model.get("lifecycleStatus") or ""), retires, skus, caps, usages)
    return Snapshot(location, fetched, tuple(seen[k] for k in sorted(seen)))


# -- cache ---------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/foundry-scaffolder/models (the user cache; never the repo)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "foundry-scaffolder" / "models"


def cache_path(location: str) -> Path:
    """The cache file of one region."""
    if not re.fullmatch(r"[a-z0-9]+", location):
        raise CatalogError(f"unknown Azure region {location!r}")
    return cache_dir() / f"{location}.json"


def save(snapshot: Snapshot) -> Path:
    """Write the region's cache atomically: a unique temporary file renamed over it, removed on failure."""
    path = cache_path(snapshot.location)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{snapshot.location}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(snapshot.to_json())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read(location: str) -> tuple[Snapshot | None, str | None]:
    """The region's cached list, or None and why it was ignored (None when there is simply no cache).

    Bounded and safe against a hostile or broken cache: a regular file only (no symlink, FIFO or device), at most
    MAX_CACHE_BYTES, any JSON it cannot use (deep nesting included) ignored, and only a list of this region.
    """
    path = cache_path(location)
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cached model list {path} unreadable ({exc.strerror}), ignored"
    if not stat.S_ISREG(info.st_mode):
        return None, f"cached model list {path} is not a regular file, ignored"
    if info.st_size > MAX_CACHE_BYTES:
        return None, f"cached model list {path} is larger than {MAX_CACHE_BYTES // 2**20} MiB, ignored"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped between lstat and open
                return None, f"cached model list {path} is not a regular file, ignored"
            data = f.read(MAX_CACHE_BYTES + 1)
        if len(data) > MAX_CACHE_BYTES:
            return None, f"cached model list {path} is larger than {MAX_CACHE_BYTES // 2**20} MiB, ignored"
        snap = Snapshot.from_json(data.decode("utf-8"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        return None, f"cached model list {path} unreadable ({type(exc).__name__}), ignored"
    if snap.location != location:
        return None, f"cached model list {path} is for {snap.location!r}, not {location}, ignored"
    return snap, None


def load(location: str) -> Snapshot | None:
    """The region's cached list, or None when absent or unusable (the shipped catalog answers then)."""
    return read(location)[0]


def fresh_or_why(location: str, today: dt.date) -> tuple[Snapshot | None, str | None]:
    """The region's cached list when fetched 0 to FRESH_DAYS days before today.

    Else None and why a cache that exists was not used (None when there is none).
    """
    snap, why = read(location)
    if snap is None:
        return None, why
    age = snap.age_days(today)
    if age < 0:
        return None, (f"cached model list for {location} fetched {snap.fetched.date()}, after today ({today}), "
                      "ignored")
    if age > FRESH_DAYS:
        return None, (f"cached model list for {location} is {age} days old (more than {FRESH_DAYS}), ignored; "
                      f"refresh with `scaffolder models --live --refresh --location {location}`")
    return snap, None


def fresh(location: str, today: dt.date) -> Snapshot | None:
    """The region's cached list when it is at most FRESH_DAYS old."""
    return fresh_or_why(location, today)[0]


# -- fetching --------------------------------------------------------------------------------------


def fetch(
    location: str,
    subscription_id: str,
    *,
    credential: Any = None,
    cloud: str = "AzureCloud",
    arm_endpoint: str | None = None,
    connection_verify: str | bool | None = None,
    now: dt.datetime | None = None,
) -> Snapshot:
    """Read the region's models from ARM; one clear error for no subscription, region, credential or ARM fault."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    from scaffolder.provisioning.api import open_arm
    from scaffolder.provisioning.arm import Arm
    from scaffolder.spec import now as spec_now

    location = location.strip().lower().replace(" ", "")
    if location not in catalog.azure_regions():
        close = catalog.suggest(location, catalog.azure_regions())
        did = f"; did you mean {', '.join(close)}?" if close else ""
        raise CatalogError(f"unknown Azure region {location!r}{did}", hint="`az account list-locations -o table`")
    if not subscription_id:
        raise SpecError("no subscription given for --live/--refresh",
                        hint="pass --subscription or set AZURE_SUBSCRIPTION_ID")
    conn = open_arm(subscription_id, cloud=cloud, arm_endpoint=arm_endpoint, credential=credential,
                    connection_verify=connection_verify)
    endpoint = conn.arm_endpoint
    arm = Arm(conn)
    try:
        items = list(arm.models(location))
    except ClientAuthenticationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CredentialError(f"no Azure credential available: {first}",
                              hint="sign in with `az login` or `azd auth login`; the shipped catalog still answers "
                                   "without --live", code="CredentialUnavailable") from None
    except HttpResponseError as exc:
        code = getattr(getattr(exc, "error", None), "code", None) or f"HTTP {exc.status_code}"
        message = getattr(getattr(exc, "error", None), "message", None) or exc.reason or "request failed"
        raise ProvisionError(f"Azure refused the model list for {location}: {code}: {message}",
                             hint="the shipped catalog still answers without --live", code=str(code)) from None
    except ServiceRequestError as exc:
        raise ProvisionError(f"cannot reach {endpoint}: {str(exc).splitlines()[0]}",
                             hint="check the network, or drop --live to use the shipped catalog") from None
    # Stamped with the pinned clock (SOURCE_DATE_EPOCH), the same clock `new` and `check` judge freshness on:
    # a real-time stamp would be "in the future" for a pinned day and the cache silently never used.
    return parse_models(items, location, now or spec_now())


# -- merging ----------------------------------------------------------------------------------------

Agreement = Literal["both", "shipped only", "live only", "disagree"]


@dataclass(frozen=True)
class MergedRow:
    """One model version as the shipped catalog and the region see it."""

    name: str
    version: str
    format: str
    shipped: str  # shipped status (or "-" when not in the catalog)
    live: str  # region status (or "-" when not listed there)
    agreement: Agreement
    detail: str = ""


def live_state(entry: LiveModel, today: dt.date) -> State:
    """The region's view of one model version, by the catalog's one rule (catalog.judge_state)."""
    return arm_state({"deprecation": {"inference": entry.retires.isoformat() if entry.retires else None},
                      "lifecycleStatus": entry.lifecycle}, today)[0]


def merge(snapshot: Snapshot, today: dt.date) -> list[MergedRow]:
    """Every catalog model's default version and every model the region lists, marking disagreements."""
    rows: list[MergedRow] = []
    shipped = catalog.models()
    for m in shipped.values():
        state = m.status(m.default_version, today).state
        entry = snapshot.find(m.name, m.default_version)
        if entry is None:
            other = [e.version for e in snapshot.models if e.name == m.name]
            detail = f"region lists versions {', '.join(other)}" if other else f"not offered in {snapshot.location}"
            rows.append(MergedRow(m.name, m.default_version, m.format, state, "-", "shipped only", detail))
            continue
        seen = live_state(entry, today)
        differences = []
        if seen != state:
            life = m.lifecycle.get(m.default_version)
            differences.append(f"Azure: {entry.lifecycle or 'no status'}, inference until "
                               f"{entry.retires or 'not set'}; catalog: retires "
                               f"{life.retires if life and life.retires else 'not published'}")
        differences += _capability_differences(m, entry)
        agreement: Agreement = "disagree" if differences else "both"
        rows.append(MergedRow(m.name, m.default_version, m.format, state, seen, agreement, "; ".join(differences)))
    for entry in snapshot.models:
        if entry.name in shipped:
            continue
        rows.append(MergedRow(entry.name, entry.version, entry.format, "-", live_state(entry, today), "live only",
                              "not in the shipped catalog"))
    return rows


def _capability_differences(model: CatalogModel, entry: LiveModel) -> list[str]:
    """Where Azure's figures (capabilities maxContextToken / maxOutputToken, SKUs) differ from the catalog's."""
    out = []
    for key, ours, what in (("maxContextToken", model.context_window, "context window"),
                            ("maxOutputToken", model.max_output_tokens, "max output tokens")):
        theirs = entry.capabilities.get(key)
        if theirs and theirs.isdigit() and ours and int(theirs) != ours:
            out.append(f"{what}: Azure {int(theirs)}, catalog {ours}")
    if entry.skus and model.default_sku not in entry.skus:
        out.append(f"SKU {model.default_sku} not offered (Azure: {', '.join(entry.skus)})")
    return out


_SEVERITY: dict[State, int] = {"current": 0, "unknown": 1, "deprecated": 1, "retiring": 2, "retired": 3}


def status(model: CatalogModel, version: str, today: dt.date, snapshot: Snapshot | None) -> LifecycleStatus:
    """The shipped status, made stricter by the region's list when a fresh one is cached."""
    shipped = model.status(version, today)
    entry = snapshot.find(model.name, version) if snapshot is not None else None
    if entry is None or snapshot is None:
        return shipped
    seen = live_state(entry, today)
    if _SEVERITY[seen] <= _SEVERITY[shipped.state]:
        return shipped
    instead = f"; replacement: {shipped.replacement}" if shipped.replacement else ""
    label = f"{model.name} {version}"
    where = f"per Azure's model list for {snapshot.location} ({snapshot.fetched.date()})"
    if seen == "retired":
        text = f"{label} retired on {entry.retires} {where}{instead}"
    elif seen == "retiring":
        text = f"{label} retires on {entry.retires} {where}{instead}"
    else:
        text = f"{label} is {entry.lifecycle or 'deprecated'} {where}{instead}"
    return LifecycleStatus(seen, text, shipped.replacement, entry.retires)


# -- the one lifecycle verdict of `new` and `check` ----------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """One deployment's lifecycle status and the file that names it."""

    where: str
    status: LifecycleStatus


@dataclass(frozen=True)
class Judgement:
    """The lifecycle verdict on a set of deployments.

    Retired ones (refused by `new`, errors in `check`), concerns (retiring, deprecated, unknown version:
    warnings) and which data said so.
    """

    retired: tuple[Judged, ...]
    concerns: tuple[Judged, ...]
    notes: tuple[str, ...]


def judge(location: str, deployments: Iterable[tuple[str, str, str]], today: dt.date) -> Judgement:
    """Judge (model, version, file) deployments on `today`; the one lifecycle verdict of `new` and `check`.

    Data: a fresh cached region list when there is one (a note says when a cache exists but was ignored), else
    the shipped catalog's published dates.

    `new` turns `retired` into a refusal and `check` into errors; a model the catalog does not know is not judged.
    """
    snapshot, why = fresh_or_why(location, today)
    retired: list[Judged] = []
    concerns: list[Judged] = []
    seen: set[tuple[str, str]] = set()
    for name, version, where in deployments:
        known = catalog.models().get(name)
        if known is None or (name, version) in seen:
            continue
        seen.add((name, version))
        verdict = status(known, version, today, snapshot)
        if verdict.state == "retired":
            retired.append(Judged(where, verdict))
        elif verdict.state != "current":
            concerns.append(Judged(where, verdict))
    if snapshot is not None:
        notes = [f"model lifecycle from {snapshot.describe()}"]
    else:
        notes = [f"model lifecycle from the shipped catalog (sources read {catalog.sources_date()})"]
        if why:
            notes.append(why)
        stale = catalog.staleness_note(today)
        if stale:
            notes.append(stale)
    return Judgement(tuple(retired), tuple(concerns), tuple(notes))
