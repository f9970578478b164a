"""The console's analysis explorers (分析): a page per query kind with its controls, chart, table,
exports and the query as REST / CLI; the segment builder; saved insights open here."""
