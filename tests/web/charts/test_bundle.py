"""The chart bundle and Swagger UI are vendored as published (checksums as the vendor README
records them), with their licenses, and OpsLoop serves them itself as JavaScript and CSS."""

from __future__ import annotations

import hashlib
import re

import httpx

from opsloop.web.templating import STATIC_DIR
from tests.conftest import LiveServer

VENDOR = STATIC_DIR / "vendor"
CHARTS = {"vega.min.js": "6.4.0", "vega-lite.min.js": "6.4.3", "vega-embed.min.js": "7.3.0"}
FILES = {**CHARTS, "swagger-ui-bundle.js": "5.35.0", "swagger-ui.css": "5.35.0"}
TYPES = {".js": "text/javascript", ".css": "text/css"}


def _recorded() -> dict[str, tuple[str, str]]:
    """file -> (version, sha256) from the vendor README's table."""
    rows = re.findall(
        r"^\| `([^`]+)` \| \[[^\]]+\]\([^)]+\) \| ([\d.]+) \| [^|]+ \| `([0-9a-f]{64})` \|$",
        (VENDOR / "README.md").read_text(),
        re.M,
    )
    return {name: (version, digest) for name, version, digest in rows}


def test_vendored_files_match_the_recorded_versions_and_checksums() -> None:
    recorded = _recorded()
    assert {k: v[0] for k, v in recorded.items()} == FILES
    for name, (_, digest) in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    for package in ("vega", "vega-lite", "vega-embed"):
        assert (
            "Redistribution and use in source and binary forms"
            in (VENDOR / f"LICENSE-{package}.txt").read_text()
        )
    assert "Apache License" in (VENDOR / "LICENSE-swagger-ui.txt").read_text()
    assert "SmartBear" in (VENDOR / "NOTICE-swagger-ui.txt").read_text()


def test_the_files_declare_their_versions() -> None:
    text = {name: (VENDOR / name).read_text() for name in CHARTS}
    assert 'version="6.4.0"' in text["vega.min.js"] or '"6.4.0"' in text["vega.min.js"]
    assert '"6.4.3"' in text["vega-lite.min.js"]
    assert '"7.3.0"' in text["vega-embed.min.js"]


def test_the_server_serves_the_bundle_as_javascript(live_server: LiveServer) -> None:
    for name in [*FILES, "../charts.js"]:
        path = f"/static/vendor/{name}".replace("vendor/../", "")
        r = httpx.get(live_server.url + path, timeout=30)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith(TYPES[local_suffix(name)])
        local = (VENDOR / name).resolve()
        assert r.content == local.read_bytes()


def local_suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[1]
