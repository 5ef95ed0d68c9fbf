"""The documentation site (mkdocs.yml): its API reference covers the public names, the strict build succeeds,
and Chromium renders its home and API pages.

The build needs the docs extra (``pip install -e '.[docs]'``, which ``make docs`` installs); without it those
tests are skipped: ``make test`` runs before CI installs it, and ``.ci/run`` runs this file again after
``make docs``. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib
import importlib.util
import os
import re
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

import latentlab

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "docs" / "_hooks" / "latentlab_site.py"
ARTIFACTS = ROOT / "test-artifacts"
DIRECTIVE = re.compile(r"^::: ([\w.]+)\s*$", re.M)
# What the build imports: MkDocs, the Material theme, mkdocstrings and its Python handler.
DOCS_MODULES = {
    "mkdocs": "mkdocs",
    "material": "mkdocs-material",
    "mkdocstrings": "mkdocstrings",
    "mkdocstrings_handlers.python": "mkdocstrings-python",
}
SERIES = "latentlab.estimators.SeriesAnomalyDetector"  # the anchor mkdocstrings gives its entry


def _hook():
    spec = importlib.util.spec_from_file_location("latentlab_site_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _documented() -> dict[str, str]:
    """``{name: identifier}`` for every ``::: identifier`` entry of docs/api/*.md."""
    found = {}
    for page in sorted((ROOT / "docs" / "api").glob("*.md")):
        for ident in DIRECTIVE.findall(page.read_text()):
            found[ident.rpartition(".")[2]] = ident
    return found


def test_api_reference_documents_every_public_name():
    documented = _documented()
    public = [n for n in latentlab.__all__ if n != "__version__"] + ["ImageAnomalyDetector"]
    missing = sorted(set(public) - set(documented))
    assert not missing, f"docs/api/*.md has no '::: ...' entry for {missing}: add one to the page of its kind"
    for name in public:  # the entry documents the very object `latentlab.NAME` gives
        module, _, attr = documented[name].rpartition(".")
        assert getattr(importlib.import_module(module), attr) is getattr(latentlab, name), documented[name]


def test_links_to_the_benchmark_reports_point_into_the_site():
    relink = _hook()._relink
    text = "[a](../benchmarks/reports/text.md#results) [b](guide.md) [c](../benchmarks/photos.py) [d](https://x/y.md)"
    assert relink(text, "text.md") == (
        "[a](reports/text.md#results) [b](guide.md) [c](../benchmarks/photos.py) [d](https://x/y.md)"
    )
    assert relink("[g](../../docs/guide.md#vae)", "reports/text.md") == "[g](../guide.md#vae)"
    assert relink("[r](../../benchmarks/reports/text.md)", "api/models.md") == "[r](../reports/text.md)"


def test_sphinx_roles_in_docstrings_render_as_code():
    html = (
        ":class:<code>~sklearn.pipeline.Pipeline</code> and :func:<code>latentlab.apps.timeseries.vus</code>"
        "<code>list of :class:`Photo`</code>"
    )
    assert _hook().on_page_content(html, None, None, None) == (
        "<code>Pipeline</code> and <code>latentlab.apps.timeseries.vus</code><code>list of Photo</code>"
    )


@pytest.mark.slow  # trains the home page's VAE (30 epochs of digits)
def test_home_page_example_runs_without_warnings(tmp_path, monkeypatch):
    from latentlab.errors import DataWarning, PosteriorCollapseWarning

    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "index.md").read_text(), flags=re.S)
    assert blocks
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace: dict = {"__name__": "docs_index"}  # one namespace: the page read top to bottom
        for i, code in enumerate(blocks):
            exec(compile(code, f"docs/index.md (python block {i + 1})", "exec"), namespace)  # noqa: S102
    assert namespace["path"].shape == (8, 64) and (tmp_path / "runs" / "my_vae" / "config.json").exists()
    noisy = [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if issubclass(w.category, (DataWarning, PosteriorCollapseWarning))
    ]
    assert not noisy, noisy


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built strictly from the working tree into a temporary folder."""
    missing = [pip for module, pip in DOCS_MODULES.items() if not _importable(module)]
    if missing:
        pytest.skip(f"the docs extra is not installed ({', '.join(missing)}): pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=480,
    )
    warnings = [line for line in done.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(
        warnings or done.stderr.splitlines()[-30:]
    )
    assert not warnings, warnings
    return out


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package
        return False


@pytest.mark.slow  # a whole site build: 5-15 s
def test_strict_build_has_every_page(site):
    from latentlab.cli import build_parser

    home = (site / "index.html").read_text()
    assert "Getting started" in home and 'href="api/index.html"' in home  # page.html links: browsable from the disk
    assert f'id="{SERIES}"' in (site / "api" / "estimators.html").read_text()
    cli = (site / "cli.html").read_text()
    commands = _hook()._subparsers(build_parser()).choices
    assert len(commands) >= 19
    missing = [name for name in commands if f"usage: latentlab {name}" not in cli]
    assert not missing, f"the command-line page has no help for {missing}"
    reports = sorted(p.stem for p in (ROOT / "benchmarks" / "reports").glob("*.md"))
    assert reports and all((site / "reports" / f"{name}.html").exists() for name in reports)
    assert 'href="reports/tabular_anomaly.html' in (site / "tabular_anomaly.html").read_text()


@contextlib.contextmanager
def _served(folder: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"  # loopback only
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.slow  # a real browser
def test_home_and_api_pages_render_in_chromium(site, request):
    browser = request.getfixturevalue("browser")  # after `site`: without the docs extra this test skips first
    ARTIFACTS.mkdir(exist_ok=True)
    with _served(site) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(base)
            assert page.locator("article h1").first.text_content().rstrip("¶ \n") == "latentlab"  # ¶: its permalink
            assert page.locator("nav").get_by_text("Reference").first.is_visible()
            page.screenshot(path=str(ARTIFACTS / "docs-home.png"))
            # The search runs in a web worker over search_index.json: typed (as a user does) once it is ready.
            page.wait_for_selector(".md-search-result__meta:has-text('Type to start searching')", state="attached")
            page.focus("input.md-search__input")
            page.keyboard.type("SeriesAnomalyDetector")
            # Results are shown after each key: wait for those of the whole word, not of its first letters.
            try:
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.md-search-result__item a')]"
                    ".some(a => a.href.includes('api/estimators.html'))", timeout=30_000)
            except Exception:  # noqa: BLE001 - say what the search showed instead
                hits = page.locator(".md-search-result__item a").evaluate_all("links => links.map(a => a.href)")
                pytest.fail(f"searching SeriesAnomalyDetector never listed api/estimators.html: {hits[:8]}")

            page.goto(base + "api/estimators.html")
            entry = page.locator(f'[id="{SERIES}"]')
            entry.scroll_into_view_if_needed()
            assert entry.is_visible() and "SeriesAnomalyDetector" in entry.text_content()
            body = page.locator("article").text_content()
            assert "anomaly_score" in body and "Parameters" in body  # methods and numpydoc sections rendered
            page.screenshot(path=str(ARTIFACTS / "docs-api-series-detector.png"))
        finally:
            page.close()
    assert (ARTIFACTS / "docs-home.png").stat().st_size > 10_000
