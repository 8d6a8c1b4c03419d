"""Reports as HTTP: the same table as JSON or as CSV (`?format=csv` or `Accept: text/csv`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from aws_lambda_powertools.event_handler import Response

from helpdesk.http.resolver import dumps
from helpdesk.reports import ReportTable

CSV_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(format_: str | None, headers: Mapping[str, str] | None) -> bool:
    """`format` wins; without it an `Accept` naming text/csv (and not JSON first) does."""
    if format_:
        return format_ == "csv"
    accept = (headers or {}).get("accept", "") or ""
    return "text/csv" in accept.lower() and "application/json" not in accept.lower()


def cell(value: Any) -> str:
    """A value as a spreadsheet should see it: text that a spreadsheet would run as a formula
    (a topic or a complaint a client wrote) is prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def csv_text(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
    return out.getvalue()


def table_response(
    table: ReportTable, meta: dict[str, Any], csv_wanted: bool, filename: str
) -> Response[str]:
    if csv_wanted:
        return Response(
            status_code=200,
            content_type=CSV_TYPE,
            body=csv_text(table.columns, table.rows),
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    body = {**meta, "columns": table.columns, "rows": table.rows, "notes": table.notes}
    return Response(status_code=200, content_type="application/json", body=dumps(body))


def page_response(
    table: ReportTable,
    span: tuple[date, date],
    next_cursor: str | None,
    csv_wanted: bool,
    filename: str,
) -> Response[str]:
    """One page of a long listing (the ledger, the ticket export): its range and the cursor
    of the next page in the body, and in `X-Next-Cursor` for the CSV."""
    meta = {
        "report": table.name,
        "from": str(span[0]),
        "to": str(span[1]),
        "next_cursor": next_cursor,
    }
    response = table_response(table, meta, csv_wanted, filename)
    if next_cursor:
        response.headers["X-Next-Cursor"] = next_cursor
    return response
