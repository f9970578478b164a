"""The setup page: the workspace's ingest key and copy-paste snippets for each SDK."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from opsloop.accounts.permissions import Permission
from opsloop.web.access import require_page
from opsloop.web.console_user import ConsoleUser
from opsloop.web.i18n import N_
from opsloop.web.templating import page_router, render_page

router = page_router()


@dataclass(frozen=True, slots=True)
class Snippet:
    id: str
    sdk: str
    language: str  # what the code is written in, for the tab label
    code: str


@dataclass(frozen=True, slots=True)
class SdkGuide:
    id: str
    title: str
    intro: str  # a message id, translated by the template
    snippets: tuple[Snippet, ...]


def sdk_guides(base_url: str, key: str) -> tuple[SdkGuide, ...]:
    """Snippets with this server's address and this workspace's ingest key filled in."""
    sensors_url = f"{base_url}/sa?project=default&token={key}"
    return (
        SdkGuide(
            "posthog",
            "PostHog",
            N_("Point the PostHog SDK at OpsLoop: use the ingest key as the project API key."),
            (
                Snippet(
                    "posthog-js",
                    "posthog-js",
                    "JavaScript",
                    "import posthog from 'posthog-js'\n\n"
                    f"posthog.init('{key}', {{ api_host: '{base_url}' }})\n"
                    "posthog.capture('pay', { amount: 99 })\n",
                ),
                Snippet(
                    "posthog-python",
                    "posthog",
                    "Python",
                    "from posthog import Posthog\n\n"
                    f'posthog = Posthog("{key}", host="{base_url}")\n'
                    'posthog.capture("pay", distinct_id="user-42", properties={"amount": 99})\n'
                    "posthog.flush()\n",
                ),
            ),
        ),
        SdkGuide(
            "segment",
            "Segment",
            N_("Use the ingest key as the Segment write key and OpsLoop as the host."),
            (
                Snippet(
                    "segment-python",
                    "analytics-python",
                    "Python",
                    "import segment.analytics as analytics\n\n"
                    f'analytics.write_key = "{key}"\n'
                    f'analytics.host = "{base_url}"\n'
                    'analytics.track("user-42", "pay", {"amount": 99})\n'
                    "analytics.flush()\n",
                ),
                Snippet(
                    "segment-node",
                    "@segment/analytics-node",
                    "Node.js",
                    "import { Analytics } from '@segment/analytics-node'\n\n"
                    "const analytics = new Analytics({\n"
                    f"  writeKey: '{key}',\n"
                    f"  host: '{base_url}',\n"
                    "})\n"
                    "analytics.track({ userId: 'user-42', event: 'pay',"
                    " properties: { amount: 99 } })\n",
                ),
            ),
        ),
        SdkGuide(
            "sensors",
            N_("Sensors Data"),
            N_("Use this data receiving URL as the Sensors SDK's server_url."),
            (
                Snippet(
                    "sensors-python",
                    "sensorsanalytics",
                    "Python",
                    "import sensorsanalytics\n\n"
                    f'consumer = sensorsanalytics.DefaultConsumer("{sensors_url}")\n'
                    "sa = sensorsanalytics.SensorsAnalytics(consumer)\n"
                    'sa.track("user-42", "pay", {"amount": 99}, is_login_id=True)\n'
                    "sa.flush()\n",
                ),
                Snippet(
                    "sensors-js",
                    "sa-sdk-javascript",
                    "JavaScript",
                    "sensors.init({\n"
                    f"  server_url: '{sensors_url}',\n"
                    "  is_track_single_page: true,\n"
                    "})\n"
                    "sensors.track('pay', { amount: 99 })\n",
                ),
            ),
        ),
        SdkGuide(
            "native",
            N_("Native API"),
            N_("Send one event or a list of events as JSON; the ingest key goes in the header."),
            (
                Snippet(
                    "native-curl",
                    "curl",
                    "Shell",
                    f"curl -X POST '{base_url}/api/v1/events' \\\n"
                    f"  -H 'Authorization: Bearer {key}' \\\n"
                    "  -H 'Content-Type: application/json' \\\n"
                    '  -d \'{"event": "pay", "distinct_id": "user-42", "properties": '
                    '{"amount": 99}}\'\n',
                ),
            ),
        ),
    )


def base_url_of(request: Request) -> str:
    """This server's address as the browser reached it."""
    return str(request.base_url).rstrip("/")


@router.get("/setup", response_class=HTMLResponse)
def setup(
    request: Request, user: Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]
) -> HTMLResponse:
    ws = user.workspace
    base_url = base_url_of(request)
    return render_page(
        request,
        user,
        "workspaces/setup.html",
        {
            "base_url": base_url,
            "ingest_key": ws.ingest_key,
            "guides": sdk_guides(base_url, ws.ingest_key),
            "endpoints": (
                ("PostHog", f"{base_url}/capture/ · {base_url}/batch/"),
                ("Segment", f"{base_url}/v1/batch"),
                (N_("Sensors Data"), f"{base_url}/sa?project=default&token={ws.ingest_key}"),
                (N_("Native API"), f"{base_url}/api/v1/events"),
            ),
        },
        nav="setup",
    )
