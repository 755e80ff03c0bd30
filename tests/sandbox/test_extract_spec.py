"""The shipped spec extract matches the vendor spec it was cut from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.sandbox.extract_spec import EXTRACTED_PATHS, SHIPPED_SPEC, extract, extract_file, main

REPO_ROOT = Path(__file__).resolve().parents[2]
VENDOR_SPEC = REPO_ROOT.parent / "shared" / "openphone-openapi.json"


@pytest.mark.skipif(not VENDOR_SPEC.exists(), reason=f"vendor spec not found at {VENDOR_SPEC}")
def test_shipped_extract_is_identical_to_a_fresh_extract_of_the_vendor_spec():
    """Re-extracting ../shared/openphone-openapi.json gives the committed file byte for byte."""
    assert extract_file(VENDOR_SPEC) == SHIPPED_SPEC.read_text(encoding="utf-8")


def test_extract_keeps_the_four_paths_and_every_component_they_reference():
    """Paths are cut to the sandbox's four; referenced schemas follow, transitively."""
    spec = {
        "openapi": "3.1.0", "info": {"title": "t"}, "servers": [], "security": [],
        "tags": [{"name": "Contacts"}, {"name": "Calls"}],
        "paths": {path: {"get": {"tags": ["Contacts"], "responses": {"200": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}
            for path in (*EXTRACTED_PATHS, "/v1/calls")},
        "components": {
            "schemas": {"A": {"$ref": "#/components/schemas/B"}, "B": {"type": "string"},
                        "Unused": {"type": "number"}},
            "securitySchemes": {"apiKey": {"type": "apiKey"}},
        },
    }
    document = extract(spec)
    assert list(document["paths"]) == list(EXTRACTED_PATHS)
    assert document["components"]["schemas"] == {"A": {"$ref": "#/components/schemas/B"},
                                                 "B": {"type": "string"}}
    assert document["tags"] == [{"name": "Contacts"}]


def test_shipped_extract_has_every_operation_the_sandbox_serves():
    """The committed extract holds the seven operations and the phone-number schema."""
    document = json.loads(SHIPPED_SPEC.read_text(encoding="utf-8"))
    operations = {(m, p) for p, item in document["paths"].items() for m in item}
    assert operations == {
        ("post", "/v1/contacts"), ("get", "/v1/contacts"), ("get", "/v1/contacts/{id}"),
        ("patch", "/v1/contacts/{id}"), ("delete", "/v1/contacts/{id}"),
        ("get", "/v1/contact-custom-fields"), ("get", "/v1/phone-numbers"),
    }
    assert "ListPhoneNumbersResponse" in document["components"]["schemas"]


def test_main_without_a_file_argument_prints_usage(capsys: pytest.CaptureFixture[str]):
    """The script refuses to run without exactly one argument."""
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err
