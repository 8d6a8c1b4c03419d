"""Reports for leads and finance: load, quality, complaints, as JSON or CSV.

Every report reads per-day counters only (never a ticket): its cost does not grow with the
table. No Powertools Tracer, as in the tickets API (cold starts stay short; decisions.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.http.params import known_query
from helpdesk.http.resolver import make_resolver
from helpdesk.http.tables import page_response, table_response, wants_csv
from helpdesk.reports import ReportTable
from helpdesk.store.ledger import LEDGER_FIELDS
from helpdesk.store.tickets import EXPORT_FIELDS
from helpdesk.usecases.reporting import LedgerDesk, ReportDesk, TicketExport

logger = Logger(service="reporting")
metrics = Metrics()
app = make_resolver(
    "Helpdesk reports API",
    default_roles=("lead", "finance"),
    roles={"GET /reports/ledger": ("finance",), "GET /openapi.json": ()},
    json_only=True,
    validation=True,
)
desk = ReportDesk()
ledger = LedgerDesk()
export = TicketExport()

DAY = r"^\d{4}-\d{2}-\d{2}$"
Day = Annotated[str | None, Query(pattern=DAY, description="yyyy-mm-dd, inclusive")]
From = Annotated[str | None, Query(alias="from", pattern=DAY, description="yyyy-mm-dd")]
Direction = Annotated[str | None, Query(min_length=1, max_length=32, pattern="^[a-z0-9_-]+$")]
Format = Annotated[
    str | None, Query(alias="format", pattern="^(json|csv)$", description="or Accept: text/csv")
]
FROM = {"from_": "from", "format_": "format"}


@app.get("/reports/complaints")
def complaints(
    direction: Direction = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    format_: Format = None,
) -> Response[str]:
    """The newest complaints with their texts: complaints are counted and shown."""
    event = app.current_event
    known_query(event.query_string_parameters, complaints, FROM)
    found = desk.complaints(direction, limit)
    columns = ["direction", "ticket_id", "created_at", "channel", "topic", "subject"]
    table = ReportTable("complaints", columns, found)
    meta = {"report": "complaints", "directions": desk.directions(direction)}
    return table_response(table, meta, wants_csv(format_, event.headers), "complaints")


@app.get("/reports/ledger")
def ledger_entries(
    direction: Annotated[str, Query(min_length=1, max_length=32, pattern="^[a-z0-9_-]+$")],
    from_: From = None,
    to: Day = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    format_: Format = None,
) -> Response[str]:
    """The cost ledger of one direction, entry by entry (finance); pages with `cursor`."""
    event = app.current_event
    known_query(event.query_string_parameters, ledger_entries, FROM)
    entries, next_cursor, span = ledger.page(from_, to, direction, cursor, limit)
    table = ReportTable("ledger", list(LEDGER_FIELDS), entries)
    csv_wanted = wants_csv(format_, event.headers)
    return page_response(
        table, (span.start, span.end), next_cursor, csv_wanted, f"ledger-{direction}-{span.start}"
    )


@app.get("/reports/tickets")
def ticket_rows(
    from_: From = None,
    to: Day = None,
    direction: Direction = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    format_: Format = None,
) -> Response[str]:
    """One row per ticket opened in the range; pages of `limit` with `next_cursor`."""
    event = app.current_event
    known_query(event.query_string_parameters, ticket_rows, FROM)
    rows, next_cursor, span = export.page(from_, to, direction, cursor, limit)
    table = ReportTable("tickets", list(EXPORT_FIELDS), rows)
    csv_wanted = wants_csv(format_, event.headers)
    return page_response(
        table, (span.start, span.end), next_cursor, csv_wanted, f"tickets-{span.start}-{span.end}"
    )


@app.get("/reports/<name>")
def report(
    name: str,
    from_: From = None,
    to: Day = None,
    direction: Direction = None,
    format_: Format = None,
) -> Response[str]:
    """A report over `from`..`to` (inclusive; default the last 30 days), one direction or all."""
    event = app.current_event
    known_query(event.query_string_parameters, report, FROM)
    table, span, directions = desk.report(name, from_, to, direction, app.actor())
    meta: dict[str, Any] = {
        "report": name,
        "from": span.start.isoformat(),
        "to": span.end.isoformat(),
        "directions": directions,
    }
    filename = f"{name}-{span.start}-{span.end}"
    return table_response(table, meta, wants_csv(format_, event.headers), filename)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
