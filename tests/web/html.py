"""Reading console pages in tests: the text of marked elements and the rows of a table."""

from __future__ import annotations

import re
from html import unescape


def text(fragment: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def marked_texts(html: str, testid: str) -> list[str]:
    """The text of every element marked data-testid="<testid>" (elements of one tag, not nested
    in themselves)."""
    out = []
    for match in re.finditer(rf'<(\w+)[^>]*data-testid="{re.escape(testid)}"[^>]*>', html):
        tag = match.group(1)
        end = html.index(f"</{tag}>", match.end())
        out.append(text(html[match.end() : end]))
    return out


def table_rows(html: str, testid: str) -> list[list[str]]:
    """The body rows of the table marked data-testid="<testid>", as cell texts."""
    start = html.index(f'data-testid="{testid}"')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        rows.append([text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)])
    return rows
