"""Lay compiled SQL out on lines for the snapshot files, so a compiler change reads as a diff:
each subquery indented, each clause (FROM, WHERE, JOIN, GROUP BY, ...) of a query on its own line.
Only whitespace outside string literals and quoted names changes; the words stay as compiled."""

from __future__ import annotations

import re

TOKEN = re.compile(r"""'(?:[^']|'')*'|"[^"]*"|\w+|\s+|.""", re.DOTALL)
CLAUSES = {"FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "QUALIFY", "WINDOW"}
JOIN_WORDS = {"LEFT", "RIGHT", "INNER", "FULL", "ASOF", "ARRAY", "CROSS", "ANY", "SEMI", "ANTI"}
INDENT = "  "


def format_sql(sql: str) -> str:
    tokens = TOKEN.findall(sql)
    words = [i for i, t in enumerate(tokens) if not t.isspace()]
    lines: list[str] = []
    line = ""
    depth = 0
    parens: list[bool] = []  # per open parenthesis: does it hold a subquery?

    def new_line() -> None:
        nonlocal line
        if line.strip():
            lines.append(line.rstrip())
        line = INDENT * depth

    for n, i in enumerate(words):
        t = tokens[i]
        before = tokens[words[n - 1]] if n else ""
        after = tokens[words[n + 1]] if n + 1 < len(words) else ""
        spaced = n > 0 and tokens[i - 1].isspace()
        at_query_level = not parens or parens[-1]
        if t == "(":
            sub = after in ("SELECT", "WITH")
            parens.append(sub)
            line += (" " if spaced and line.strip() else "") + "("
            if sub:
                depth += 1
                new_line()
            continue
        if t == ")":
            if parens.pop() if parens else False:
                depth -= 1
                new_line()
            line += ")"
            continue
        breaks = at_query_level and (
            t in CLAUSES
            or (t == "JOIN" and before not in JOIN_WORDS)
            or (t in JOIN_WORDS and after in (*JOIN_WORDS, "JOIN") and before not in JOIN_WORDS)
            or (t == "SELECT" and before == ")")
        )
        if breaks:
            new_line()
        elif spaced and line.strip():
            line += " "
        line += t
    new_line()
    return "\n".join(lines)
