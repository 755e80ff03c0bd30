"""A local sandbox of the OpenPhone contacts API (``sync sandbox``).

An ASGI app that behaves like the real ``/v1`` contacts API: same request and response
shapes (validated against the vendor spec), raw-key auth, a per-key rate limit, PATCH
replace semantics, and seeded faults for reliability tests. Reach it in-process with
:func:`sandbox_transport` or serve it with uvicorn (see :mod:`sync.sandbox.cli`).
"""

from __future__ import annotations

from sync.sandbox.app import create_app
from sync.sandbox.settings import FieldDefinition, SandboxSettings
from sync.sandbox.state import SandboxState
from sync.sandbox.transport import sandbox_transport

__all__ = [
    "FieldDefinition",
    "SandboxSettings",
    "SandboxState",
    "create_app",
    "sandbox_transport",
]
