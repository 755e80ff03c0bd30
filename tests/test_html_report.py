"""The HTML plan report: self-contained, escaped, filterable; checked in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sync.engine import RunResult
from sync.html_report import render_report, write_report
from tests.helpers import World, contact_row

EVIL = "<script>alert(1)</script>"
EVIL_ATTR = '"><img src=x onerror=alert(2)>'
SECOND_SOURCE = """
[[sources]]
name = "sheet-b"
type = "csv"
path = "b.csv"
key = "id"
default_region = "US"

[sources.fields]
firstName = "First Name"
lastName = "Last Name"
"""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")


@pytest.fixture
def plan_result(tmp_path: Path) -> RunResult:
    """A dry run with a delete, an update, creates (one with a hostile name) and rejects, over two sources."""
    world = World(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    rows = [contact_row(n) for n in range(12)]
    world.write_rows(rows)
    world.run()
    rows[3]["Company"] = "Globex"
    rows[3]["Email"] = "new3@example.com"
    rows[5]["First Name"] = EVIL
    rows[5]["Last Name"] = EVIL_ATTR
    del rows[7]
    rows.append(contact_row(40, **{"First Name": "Nadia", "Last Name": "Newcomer"}))
    rows.append(contact_row(41, id=""))
    world.write_rows(rows)
    with open(tmp_path / "sync.toml", "a", encoding="utf-8") as fh:
        fh.write(SECOND_SOURCE)
    (tmp_path / "b.csv").write_text("id,First Name,Last Name\nB1,Bea,Second\nB2,Ben,Second\n", encoding="utf-8")
    return world.run(dry_run=True)


class _Collector(HTMLParser):
    """Tags and attribute values of a page, to check nothing untrusted became markup."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_report_holds_counts_and_every_kind_with_field_level_changes(plan_result: RunResult):
    """The page shows the counts, deletes before updates before creates, before/after and rejects."""
    page = render_report(plan_result)
    summary = plan_result.plan.summary()
    assert summary["delete"] == 1 and summary["update"] == 2 and summary["rejected"] == 1
    for kind in ("delete", "update", "create"):
        assert f'data-count="{kind}"><span class="n">{summary[kind]}</span>' in page
    assert page.index('id="group-delete"') < page.index('id="group-update"') < page.index('id="group-create"')
    update = re.search(r'<article class="change update"[^>]*data-search="first3 last3 k3 crm".*?</article>', page, re.S)
    assert update is not None
    assert "<td>company</td><td class=\"before\">Acme</td><td class=\"after\">Globex</td>" in update.group(0)
    assert "work: new3@example.com" in update.group(0)
    assert 'id="group-rejected"' in page and "no key" in page
    assert '<option value="sheet-b">sheet-b</option>' in page


def test_untrusted_values_are_escaped_everywhere(plan_result: RunResult):
    """A hostile name stays text: no script tag but ours, no img tag, no event handler attribute."""
    page = render_report(plan_result)
    parser = _Collector()
    parser.feed(page)
    scripts = [t for t, _ in parser.tags if t == "script"]
    assert scripts == ["script"]
    assert not any(tag == "img" for tag, _ in parser.tags)
    assert not any(name.startswith("on") for _, attrs in parser.tags for name in attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page


def test_page_loads_nothing_from_outside(plan_result: RunResult):
    """No external URL in src/href, and a CSP that allows only the page's own script by hash."""
    page = render_report(plan_result)
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "default-src 'none'" in page and "script-src 'sha256-" in page


def _chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra, url],
        capture_output=True, text=True, timeout=90, check=False,
    )


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line or "Uncaught" in line or "Refused to" in line]


@needs_chromium
def test_page_runs_without_console_errors_in_chromium(plan_result: RunResult, tmp_path: Path):
    """Headless Chromium runs the page's script (it marks the DOM), logs no console error, shows counts."""
    report = tmp_path / "plan.html"
    write_report(report, plan_result)
    done = _chromium(tmp_path, report.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console_errors(done.stderr) == []
    dom = done.stdout
    assert 'data-report-ready="yes"' in dom
    total = dom.count("data-item=")
    assert f"{total} of {total} items shown" in dom
    assert "Globex" in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


@needs_chromium
def test_filters_preset_from_the_link_hide_other_sources_and_kinds(plan_result: RunResult, tmp_path: Path):
    """#source=sheet-b&kinds=create shows only that source's creates; the rest are hidden."""
    report = tmp_path / "plan.html"
    write_report(report, plan_result)
    done = _chromium(tmp_path, report.as_uri() + "#kinds=create&source=sheet-b", "--dump-dom")
    assert _console_errors(done.stderr) == []
    assert "2 of " in done.stdout and "items shown" in done.stdout
    visible = re.findall(r'<article class="change (\w+)"(?![^>]*hidden)[^>]*data-source="([^"]+)"', done.stdout)
    assert sorted(visible) == [("create", "sheet-b"), ("create", "sheet-b")]
    assert re.search(r'<section data-group="delete"[^>]*hidden', done.stdout)


@needs_chromium
def test_screenshot_renders_into_tmp_only(plan_result: RunResult, tmp_path: Path):
    """A screenshot of the page can be taken (kept in tmp_path, never in the repository)."""
    report = tmp_path / "plan.html"
    write_report(report, plan_result)
    shot = tmp_path / "shot.png"
    done = _chromium(tmp_path, report.as_uri(), "--window-size=1280,1600", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_a_real_run_report_shows_each_outcome(tmp_path: Path):
    """After a real run the page marks each change done (or failed, with the error)."""
    world = World(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    world.write_rows([contact_row(n) for n in range(3)])
    page = render_report(world.run())
    assert page.count('<span class="badge done">done</span>') == 3
    assert "run report" in page and 'data-count="failed"' in page
