"""Everything one sandbox app holds, exposed to tests as ``app.state.sandbox``.

:class:`SandboxState` owns the store, the limiter, the fault injector, the bounded
request log and the counters, and offers the Python-side helpers tests use (reset,
replace the custom-field definitions, save).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from sync.sandbox.contacts import ContactService
from sync.sandbox.faults import FaultInjector, FaultKind, SlidingWindowLimiter
from sync.sandbox.settings import (
    FieldDefinition,
    SandboxSettings,
    default_field_definitions,
    parse_field_definitions,
)
from sync.sandbox.store import (
    ContactStore,
    IdFactory,
    document_definitions,
    load_contacts,
    now_iso,
    read_document,
)
from sync.sandbox.validation import RequestValidators, load_spec

REQUEST_LOG_SIZE = 10_000


def key_suffix(key: str | None) -> str | None:
    """Enough of a key to tell keys apart in a log, never the key itself."""
    if key is None:
        return None
    return "…" + key[-4:] if len(key) > 4 else "…"


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One entry of the request log. ``status`` is ``None`` for a dropped connection."""

    method: str
    path: str
    query: str
    status: int | None
    key: str | None
    timestamp: str
    fault: str | None

    def to_json(self) -> dict[str, Any]:
        """The entry as ``GET /_sandbox/requests`` lists it."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "key": self.key,
            "timestamp": self.timestamp,
            "fault": self.fault,
        }


class SandboxState:
    """The state of one sandbox app."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.api_keys = frozenset(settings.api_keys)
        self.validators = RequestValidators(load_spec())
        self.store = self._open_store(settings)
        self.contacts = ContactService(self.store, self.validators, settings.patch_mode)
        self.limiter = SlidingWindowLimiter(settings.rate_limit)
        self.faults = FaultInjector(settings)
        self.log: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        self.by_method: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_fault: Counter[str] = Counter()
        self.rate_limited = 0

    @staticmethod
    def _open_store(settings: SandboxSettings) -> ContactStore:
        """Definitions: the settings', else the data file's, else the bundled set."""
        ids = IdFactory(settings.seed)
        path = settings.data_file
        document = read_document(path) if path is not None and path.exists() else None
        definitions = settings.field_definitions()
        if definitions is None and document is not None and path is not None:
            definitions = document_definitions(document, path) or None
        store = ContactStore(definitions or default_field_definitions(), ids)
        if document is not None and path is not None:
            load_contacts(store, document, path)
        return store

    def record(
        self,
        method: str,
        path: str,
        query: str,
        status: int | None,
        key: str | None,
        fault: FaultKind = FaultKind.NONE,
    ) -> None:
        """Log one answered (or dropped) request and count it."""
        fault_name = None if fault is FaultKind.NONE else fault.value
        self.log.append(
            LoggedRequest(method, path, query, status, key_suffix(key), now_iso(), fault_name)
        )
        self.by_method[method] += 1
        self.by_status["dropped" if status is None else str(status)] += 1
        if fault_name:
            self.by_fault[fault_name] += 1

    def stats(self) -> dict[str, Any]:
        """Counts since the last reset."""
        return {
            "requests": sum(self.by_method.values()),
            "by_method": dict(self.by_method),
            "by_status": dict(self.by_status),
            "rate_limited": self.rate_limited,
            "sent_429": self.by_status.get("429", 0),
            "faults": dict(self.by_fault),
            "contacts": len(self.store),
        }

    def reset(self) -> None:
        """Forget contacts, the log, counters and rate windows; restart the fault sequence."""
        self.store.clear()
        self.log.clear()
        self.by_method.clear()
        self.by_status.clear()
        self.by_fault.clear()
        self.rate_limited = 0
        self.limiter.clear()
        self.faults.reseed()

    def custom_fields(self) -> list[dict[str, str]]:
        """The current definitions in the API's shape."""
        return [d.to_api() for d in self.store.definitions.values()]

    def set_custom_fields(self, raw: Any) -> tuple[FieldDefinition, ...]:
        """Replace the definitions (rename, retype, add, remove) with a full JSON list."""
        definitions = parse_field_definitions(raw)
        self.store.set_definitions(definitions)
        return definitions

    def all_contacts(self) -> list[dict[str, Any]]:
        """Every contact as the API renders it, in creation order."""
        return [self.contacts.render(c) for c in self.store]

    def save(self) -> None:
        """Write the data file, when one is configured."""
        if self.settings.data_file is not None:
            self.store.save(self.settings.data_file)
