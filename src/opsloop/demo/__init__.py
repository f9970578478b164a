"""The demo world: a seeded simulator of an app that sells goods and publishes content, and the
truths it plants (written to truths.json) that OpsLoop's analyses must find."""

from opsloop.demo.world import TRUTHS_FILE, DemoSummary, build_demo_world

__all__ = ["TRUTHS_FILE", "DemoSummary", "build_demo_world"]
