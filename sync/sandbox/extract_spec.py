"""Cut the contacts part out of the vendor's OpenAPI file, for the sandbox to ship.

The vendor spec is 1 MB and lives outside the package. The sandbox needs only the
contacts, custom-field and phone-number paths and the components they reference, so this
script writes exactly those to ``sync/sandbox/openapi-contacts.json``::

    python -m sync.sandbox.extract_spec /work/shared/openphone-openapi.json

The output is deterministic, so a test can re-extract and compare it byte for byte.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXTRACTED_PATHS = (
    "/v1/contacts",
    "/v1/contacts/{id}",
    "/v1/contact-custom-fields",
    "/v1/phone-numbers",
)
SHIPPED_SPEC = Path(__file__).with_name("openapi-contacts.json")
_REF_PREFIX = "#/components/"


def _refs(node: Any) -> Iterator[str]:
    """Yield every ``$ref`` string inside a JSON value."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _referenced_components(spec: dict[str, Any], roots: Any) -> dict[str, dict[str, Any]]:
    """Collect the components reachable from ``roots``, following refs transitively."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(_refs(roots))
    while pending:
        ref = pending.pop()
        if not ref.startswith(_REF_PREFIX):
            raise ValueError(f"unsupported $ref outside components: {ref}")
        kind, name = ref.removeprefix(_REF_PREFIX).split("/", 1)
        if name in found.get(kind, {}):
            continue
        target = spec["components"][kind][name]
        found.setdefault(kind, {})[name] = target
        pending.extend(_refs(target))
    return {kind: dict(sorted(items.items())) for kind, items in sorted(found.items())}


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    """Return a standalone OpenAPI document with only the sandbox's paths."""
    paths = {path: spec["paths"][path] for path in EXTRACTED_PATHS}
    components = _referenced_components(spec, paths)
    components["securitySchemes"] = spec["components"]["securitySchemes"]
    used_tags = {tag for item in paths.values() for op in item.values() for tag in op.get("tags", [])}
    return {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": spec["servers"],
        "security": spec["security"],
        "tags": [tag for tag in spec.get("tags", []) if tag.get("name") in used_tags],
        "paths": paths,
        "components": components,
    }


def render(document: dict[str, Any]) -> str:
    """Serialize the extracted document the one way it is committed."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def extract_file(source: Path) -> str:
    """Read the vendor spec at ``source`` and return the rendered extract."""
    spec = json.loads(source.read_text(encoding="utf-8"))
    return render(extract(spec))


def main(argv: list[str] | None = None) -> int:
    """Write the extract of the spec named on the command line next to this module."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sync.sandbox.extract_spec VENDOR_SPEC.json", file=sys.stderr)
        return 2
    SHIPPED_SPEC.write_text(extract_file(Path(args[0])), encoding="utf-8")
    print(f"wrote {SHIPPED_SPEC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
