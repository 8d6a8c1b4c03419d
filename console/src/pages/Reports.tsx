// #/reports?from=&to=&direction=: the reporting API's tables as charts and tables, for leads
// and finance. Loaded lazily (ReportsRoute), with uPlot, so the queue never carries either.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, apiCsv, ApiError, query } from "../api";
import { hasRole } from "../auth";
import { BarChart, LineChart } from "../charts";
import { described, errorText, Field, FormError } from "../components";
import { lang, t, term, useLang, when } from "../i18n";
import { navigate, ticketHref, type Route } from "../router";
import "./Reports.css";

type Cell = string | number | boolean | null;
type Row = Record<string, Cell>;
type Report = { report: string; from?: string; to?: string; directions?: string[]; columns: string[]; rows: Row[]; notes: Record<string, unknown> };
type Range = { from: string; to: string; direction: string };

const DEFAULT_DAYS = 30; // the API's default range, made explicit in the form
const TREND_POINTS = 14; // at most this many calls for the first-response trend
const DAY_MS = 86_400_000;

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function addDays(day: string, days: number): string {
  return isoDay(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS);
}

/** The periods of the trend: the range cut into equal steps (the last may be shorter). */
export function periods(from: string, to: string): { from: string; to: string; step: number }[] {
  const days = Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
  if (!(days > 0)) return [];
  const step = Math.ceil(days / TREND_POINTS);
  const found = [];
  for (let start = from; start <= to; start = addDays(start, step)) {
    const end = addDays(start, step - 1);
    found.push({ from: start, to: end < to ? end : to, step });
  }
  return found;
}

function number(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined) return "—";
  return value.toLocaleString(lang() === "ru" ? "ru-RU" : "en-GB", { maximumFractionDigits: digits });
}

function minutes(seconds: Cell): number | null {
  return typeof seconds === "number" ? Math.round(seconds / 6) / 10 : null;
}

/** Monday..Sunday in the interface's language (2024-01-01 was a Monday). */
function weekdayName(index: number): string {
  return new Intl.DateTimeFormat(lang() === "ru" ? "ru-RU" : "en-GB", { weekday: "short", timeZone: "UTC" }).format(
    new Date(Date.UTC(2024, 0, 1 + index)),
  );
}

function shortDay(day: string): string {
  return new Intl.DateTimeFormat(lang() === "ru" ? "ru-RU" : "en-GB", { day: "numeric", month: "short", timeZone: "UTC" }).format(
    new Date(`${day}T00:00:00Z`),
  );
}

function reportPath(name: string, range: Range, extra: Record<string, string | number> = {}): string {
  return `/reports/${name}${query({ from: range.from, to: range.to, direction: range.direction, ...extra })}`;
}

function useReport(path: string | null): { data: Report | null; error: string | null } {
  const [state, setState] = useState<{ data: Report | null; error: string | null }>({ data: null, error: null });
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState({ data: null, error: null });
    api<Report>("GET", path)
      .then((data) => live && setState({ data, error: null }))
      .catch((caught: unknown) => live && setState({ data: null, error: errorText(caught) }));
    return () => {
      live = false;
    };
  }, [path]);
  return state;
}

/** Saves a text as a file: a plain link cannot carry the bearer token, so the CSV is fetched
 * with it and handed to the browser as a Blob. */
function save(text: string, filename: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** "Download CSV": the same query with format=csv; a paged export follows X-Next-Cursor
 * and keeps one header row. */
function CsvButton(props: { path: string; name: string; paged?: boolean; label?: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = `csv-${props.name}`;
  async function download() {
    setBusy(true);
    setError(null);
    try {
      const glue = props.path.includes("?") ? "&" : "?";
      let answer = await apiCsv(`${props.path}${glue}format=csv`);
      let text = answer.text;
      const filename = answer.filename ?? `${props.name}.csv`;
      while (props.paged && answer.next) {
        answer = await apiCsv(`${props.path}${glue}format=csv&cursor=${encodeURIComponent(answer.next)}`);
        text += answer.text.slice(answer.text.indexOf("\n") + 1);
      }
      save(text, filename);
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  }
  return (
    <span class="csv">
      <button type="button" class="link" id={id} disabled={busy} onClick={download} aria-describedby={error ? `${id}-error` : undefined}>
        {busy ? t("downloading") : props.label ?? t("download_csv")}
      </button>
      <FormError id={`${id}-error`} error={error} />
    </span>
  );
}

function Section(props: { id: string; title: string; csv?: { path: string; paged?: boolean }; children: ComponentChildren }) {
  return (
    <section class="card report" id={`report-${props.id}`} aria-labelledby={`report-${props.id}-title`}>
      <div class="report-head">
        <h2 id={`report-${props.id}-title`}>{props.title}</h2>
        {props.csv && <CsvButton name={props.id} path={props.csv.path} paged={props.csv.paged} />}
      </div>
      {props.children}
    </section>
  );
}

function Loading(props: { state: { data: unknown; error: string | null } }) {
  if (props.state.error)
    return (
      <p class="error" role="alert">
        {props.state.error}
      </p>
    );
  return props.state.data ? null : <p class="muted">…</p>;
}

/** A chart's numbers, one click away (and always in the accessibility tree when open). */
function Numbers(props: { children: ComponentChildren }) {
  return (
    <details class="numbers">
      <summary>{t("numbers")}</summary>
      {props.children}
    </details>
  );
}

export function Reports(props: { route: Route }) {
  useLang();
  const { params } = props.route;
  const today = isoDay(Date.now());
  const range: Range = {
    from: params.get("from") || addDays(today, -(DEFAULT_DAYS - 1)),
    to: params.get("to") || today,
    direction: params.get("direction") || "",
  };
  const [form, setForm] = useState(range);
  const [directions, setDirections] = useState<string[]>([]);
  const [categories, setCategories] = useState<Report | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => setForm(range), [props.route.hash]);
  // Which directions there are: the complaints feed names them all when given none.
  useEffect(() => {
    api<Report>("GET", "/reports/complaints?limit=1")
      .then((found) => setDirections(found.directions ?? []))
      .catch(() => setDirections([]));
  }, []);
  // The categories report comes first: it carries the complaint share, and a refused range
  // is said once, beside its field, instead of by every chart.
  useEffect(() => {
    let live = true;
    setCategories(null);
    setError(null);
    api<Report>("GET", reportPath("categories", range))
      .then((found) => live && setCategories(found))
      .catch((caught: unknown) => live && setError(caught instanceof ApiError ? caught : new ApiError(0, "error", errorText(caught))));
    return () => {
      live = false;
    };
  }, [props.route.hash, attempt]);

  function submit(event: Event) {
    event.preventDefault();
    const hash = `#/reports${query(form)}`;
    if (hash === location.hash) setAttempt((n) => n + 1);
    else navigate(hash);
  }

  const problems = error ? error.fieldProblems() : {};
  const fieldNames = ["from", "to", "direction"];
  const formError = error && !fieldNames.some((name) => problems[name]) ? error.message : undefined;
  const set = (name: keyof Range) => (event: Event) => setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value });
  const shown: Range = categories ? { ...range, from: categories.from ?? range.from, to: categories.to ?? range.to } : range;

  return (
    <section aria-labelledby="page-title" class="reports">
      <h1 id="page-title" tabIndex={-1}>
        {t("reports_title")}
      </h1>
      <form class="filters card" onSubmit={submit} noValidate aria-label={t("reports_title")}>
        <Field id="r-from" label={t("date_from")} error={problems.from} hint={t("reports_range_hint")}>
          <input type="date" name="from" value={form.from} onInput={set("from")} {...described("r-from", problems.from, t("reports_range_hint"))} />
        </Field>
        <Field id="r-to" label={t("date_to")} error={problems.to}>
          <input type="date" name="to" value={form.to} onInput={set("to")} {...described("r-to", problems.to)} />
        </Field>
        <Field id="r-direction" label={t("direction")} error={problems.direction}>
          <select name="direction" value={form.direction} onChange={set("direction")} {...described("r-direction", problems.direction)}>
            <option value="">{t("direction_all")}</option>
            {[...new Set([...directions, ...(form.direction ? [form.direction] : [])])].map((d) => (
              <option value={d} key={d}>
                {d}
              </option>
            ))}
          </select>
        </Field>
        <div class="actions">
          <button type="submit">{t("show")}</button>
          <FormError id="r-form-error" error={formError} />
        </div>
      </form>
      {categories && <Sections range={shown} categories={categories} key={`${props.route.hash}#${attempt}`} />}
    </section>
  );
}

function Sections(props: { range: Range; categories: Report }) {
  const { range } = props;
  const finance = hasRole("finance");
  return (
    <div class="report-grid">
      <ComplaintShare range={range} categories={props.categories} />
      <Heatmap range={range} />
      <Load range={range} />
      <FirstResponse range={range} />
      <Csat range={range} />
      {finance && <Costs range={range} />}
      <Complaints range={range} />
      <Section id="tickets" title={t("export_title")} csv={{ path: reportPath("tickets", range), paged: true }}>
        <p class="muted small">{t("export_note")}</p>
      </Section>
    </div>
  );
}

function ComplaintShare(props: { range: Range; categories: Report }) {
  const { rows, notes } = props.categories;
  const share = Number(notes.complaint_share_percent ?? 0);
  const opened = Object.values((notes.opened as Record<string, number> | undefined) ?? {}).reduce((a, b) => a + b, 0);
  const complaints = rows.filter((row) => row.category === "complaint").reduce((sum, row) => sum + Number(row.tickets ?? 0), 0);
  // Several directions: one row per direction and category; summed per category here.
  const byCategory = new Map<string, number>();
  for (const row of rows) byCategory.set(String(row.category), (byCategory.get(String(row.category)) ?? 0) + Number(row.tickets ?? 0));
  return (
    <Section id="categories" title={t("categories_title")} csv={{ path: reportPath("categories", props.range) }}>
      <p class="big-number">
        <span class="muted small">{t("complaint_share")}</span>{" "}
        <strong id="complaint-share" data-percent={share}>
          {number(share, 1)} %
        </strong>
      </p>
      <p class="muted small">{t("complaint_share_of", { n: complaints, total: opened })}</p>
      <div class="scroll"><table class="report-table">
        <caption class="visually-hidden">{t("categories_title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("category")}</th>
            <th scope="col" class="num">{t("tickets_opened")}</th>
            <th scope="col" class="num">{t("share")}</th>
          </tr>
        </thead>
        <tbody>
          {[...byCategory].map(([category, count]) => (
            <tr key={category}>
              <th scope="row">{term(category)}</th>
              <td class="num">{count}</td>
              <td class="num">{number(opened ? (100 * count) / opened : 0, 1)} %</td>
            </tr>
          ))}
        </tbody>
      </table></div>
    </Section>
  );
}

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const HOURS = Array.from({ length: 24 }, (_, hour) => String(hour).padStart(2, "0"));

function Heatmap(props: { range: Range }) {
  const state = useReport(reportPath("heatmap", props.range));
  const grid = WEEKDAYS.map(() => HOURS.map(() => 0));
  for (const row of state.data?.rows ?? []) {
    const day = WEEKDAYS.indexOf(String(row.weekday));
    if (day >= 0) HOURS.forEach((hour, index) => (grid[day][index] += Number(row[hour] ?? 0)));
  }
  const most = Math.max(0, ...grid.flat());
  const level = (count: number) => (count === 0 || most === 0 ? 0 : Math.max(1, Math.ceil((5 * count) / most)));
  return (
    <Section id="heatmap" title={t("heatmap_title")} csv={{ path: reportPath("heatmap", props.range) }}>
      <Loading state={state} />
      {state.data && (
        <div class="scroll">
          <table class="heatmap">
            <caption class="muted small">{t("heatmap_caption")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("weekday")}</th>
                {HOURS.map((hour) => (
                  <th scope="col" key={hour}>
                    {hour}
                  </th>
                ))}
                <th scope="col">{t("total")}</th>
              </tr>
            </thead>
            <tbody>
              {grid.map((counts, day) => (
                <tr key={WEEKDAYS[day]}>
                  <th scope="row">{weekdayName(day)}</th>
                  {counts.map((count, hour) => (
                    <td key={hour} class={`heat heat-${level(count)}`} data-day={WEEKDAYS[day]} data-hour={HOURS[hour]}>
                      {count || ""}
                      {!count && <span class="visually-hidden">0</span>}
                    </td>
                  ))}
                  <td class="num">{counts.reduce((a, b) => a + b, 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function Load(props: { range: Range }) {
  const state = useReport(reportPath("load", props.range));
  const rows = state.data?.rows ?? [];
  const directions = rows.filter((row) => row.scope === "direction");
  return (
    <Section id="load" title={t("load_title")} csv={{ path: reportPath("load", props.range) }}>
      <Loading state={state} />
      {state.data && (
        <figure>
          <figcaption class="muted small" id="load-caption">
            {t("load_caption")}
          </figcaption>
          <BarChart
            label="load"
            xLabel={t("direction")}
            labels={directions.map((row) => String(row.direction))}
            series={[
              { label: t("tickets_opened"), values: directions.map((row) => Number(row.opened ?? 0)) },
              { label: t("staffed_hours"), values: directions.map((row) => Number(row.staffed_hours ?? 0)), axis: "right", colour: "#bc4c00" },
            ]}
          />
          <Numbers>
            <div class="scroll"><table class="report-table">
              <caption class="visually-hidden">{t("load_title")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("direction")}</th>
                  <th scope="col">{t("agent")}</th>
                  <th scope="col" class="num">{t("tickets_opened")}</th>
                  <th scope="col" class="num">{t("replies")}</th>
                  <th scope="col" class="num">{t("resolved_count")}</th>
                  <th scope="col" class="num">{t("staffed_hours")}</th>
                  <th scope="col" class="num">{t("per_staffed_hour")}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row, index) => (
                  <tr key={index} class={row.scope === "direction" ? "row-total" : undefined}>
                    <th scope="row">{String(row.direction)}</th>
                    <td>
                      {row.agent ?? "—"}
                      {row.underloaded === true && <span class="badge badge-breached">{t("underloaded")}</span>}
                    </td>
                    <td class="num">{number(row.opened as number | null)}</td>
                    <td class="num">{number(row.replies as number | null)}</td>
                    <td class="num">{number(row.resolved as number | null)}</td>
                    <td class="num">{number(row.staffed_hours as number | null, 1)}</td>
                    <td class="num">{number(row.per_staffed_hour as number | null, 3)}</td>
                  </tr>
                ))}
              </tbody>
            </table></div>
          </Numbers>
        </figure>
      )}
    </Section>
  );
}

type TrendPoint = { from: string; to: string; rows: Row[] };

/** The times report answers one median and p90 for its whole range: the trend asks it once
 * per period of the range (at most TREND_POINTS calls, all at once). */
function FirstResponse(props: { range: Range }) {
  const { range } = props;
  const [points, setPoints] = useState<TrendPoint[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cuts = periods(range.from, range.to);
  useEffect(() => {
    let live = true;
    Promise.all(
      cuts.map((cut) => api<Report>("GET", reportPath("times", { ...range, from: cut.from, to: cut.to })).then((found) => ({ ...cut, rows: found.rows }))),
    )
      .then((found) => live && setPoints(found))
      .catch((caught: unknown) => live && setError(errorText(caught)));
    return () => {
      live = false;
    };
  }, [range.from, range.to, range.direction]);
  const directions = [...new Set((points ?? []).flatMap((point) => point.rows.map((row) => String(row.direction))))];
  const value = (point: TrendPoint, direction: string, column: string) =>
    minutes(point.rows.find((row) => row.direction === direction)?.[column] ?? null);
  const several = directions.length > 1;
  const series = directions.flatMap((direction, index) => [
    { label: `${several ? `${direction} ` : ""}${t("frt_median")}`, values: (points ?? []).map((p) => value(p, direction, "frt_median_seconds")), colour: ["#0b5cad", "#1a7f37", "#8250df"][index % 3] },
    { label: `${several ? `${direction} ` : ""}${t("frt_p90")}`, values: (points ?? []).map((p) => value(p, direction, "frt_p90_seconds")), colour: ["#b42318", "#bc4c00", "#0a7480"][index % 3], dash: true },
  ]);
  return (
    <Section id="times" title={t("frt_title")} csv={{ path: reportPath("times", range) }}>
      <Loading state={{ data: points, error }} />
      {points && (
        <figure>
          <figcaption class="muted small">{t("frt_caption", { n: cuts[0]?.step ?? 1 })}</figcaption>
          <LineChart label="times" xLabel={t("period")} labels={points.map((point) => shortDay(point.from))} series={series} unit={t("minutes")} />
          <Numbers>
            <div class="scroll"><table class="report-table">
              <caption class="visually-hidden">{t("frt_title")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("period")}</th>
                  <th scope="col">{t("direction")}</th>
                  <th scope="col" class="num">{t("first_responses")}</th>
                  <th scope="col" class="num">{t("frt_median")}, {t("minutes")}</th>
                  <th scope="col" class="num">{t("frt_p90")}, {t("minutes")}</th>
                </tr>
              </thead>
              <tbody>
                {points.flatMap((point) =>
                  point.rows.map((row) => (
                    <tr key={`${point.from}-${row.direction}`}>
                      <th scope="row">
                        {shortDay(point.from)}
                        {point.to !== point.from && ` – ${shortDay(point.to)}`}
                      </th>
                      <td>{String(row.direction)}</td>
                      <td class="num">{number(row.first_responses as number)}</td>
                      <td class="num">{number(minutes(row.frt_median_seconds), 1)}</td>
                      <td class="num">{number(minutes(row.frt_p90_seconds), 1)}</td>
                    </tr>
                  )),
                )}
              </tbody>
            </table></div>
          </Numbers>
        </figure>
      )}
    </Section>
  );
}

function Csat(props: { range: Range }) {
  const state = useReport(reportPath("csat", props.range));
  const agents = (state.data?.rows ?? [])
    .filter((row) => row.scope === "agent")
    .sort((a, b) => (Number(a.rank) || 1e9) - (Number(b.rank) || 1e9) || Number(b.ratings) - Number(a.ratings));
  const least = Number(state.data?.notes.min_ratings ?? 0);
  return (
    <Section id="csat" title={t("csat_title")} csv={{ path: reportPath("csat", props.range) }}>
      <Loading state={state} />
      {state.data && (
        <>
          <p class="muted small">{t("csat_caption", { n: least })}</p>
          {agents.length === 0 ? (
            <p class="empty">{t("no_data")}</p>
          ) : (
            <div class="scroll"><table class="report-table leaderboard">
              <caption class="visually-hidden">{t("csat_title")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("rank")}</th>
                  <th scope="col">{t("agent")}</th>
                  <th scope="col">{t("direction")}</th>
                  <th scope="col" class="num">{t("ratings")}</th>
                  <th scope="col" class="num">{t("share_good")}</th>
                  <th scope="col" class="num">{t("average")}</th>
                </tr>
              </thead>
              <tbody>
                {agents.map((row) => (
                  <tr key={`${row.direction}-${row.name}`} class={row.rank === 1 ? "leader" : undefined}>
                    <td>{row.rank ?? <span class="muted small">{t("not_ranked")}</span>}</td>
                    <th scope="row">
                      {row.rank === 1 && (
                        <Crown />
                      )}{" "}
                      {String(row.name)}
                    </th>
                    <td>{String(row.direction)}</td>
                    <td class="num">{number(row.ratings as number)}</td>
                    <td class="num">{number(row.share_good_percent as number, 1)} %</td>
                    <td class="num">{number(row.average as number | null, 2)}</td>
                  </tr>
                ))}
              </tbody>
            </table></div>
          )}
        </>
      )}
    </Section>
  );
}

/** The leader's crown, drawn (an emoji may have no font to show it). */
function Crown() {
  return (
    <svg class="crown" role="img" aria-label={t("leader")} viewBox="0 0 24 18" width="20" height="15">
      <title>{t("leader")}</title>
      <path d="M2 16h20l1.5-12-6 5L12 1 6.5 9l-6-5z" fill="#e3a008" stroke="#8a6100" stroke-width="1.2" stroke-linejoin="round" />
    </svg>
  );
}

function Costs(props: { range: Range }) {
  const state = useReport(reportPath("costs", props.range));
  const rows = state.data?.rows ?? [];
  const byChannel = new Map<string, number>();
  for (const row of rows) {
    if (row.channel === "all") continue;
    const key = `${term(String(row.channel))} (${row.currency})`;
    byChannel.set(key, (byChannel.get(key) ?? 0) + Number(row.amount_minor ?? 0) / 100);
  }
  return (
    <Section id="costs" title={t("costs_title")} csv={{ path: reportPath("costs", props.range) }}>
      <Loading state={state} />
      {state.data &&
        (byChannel.size === 0 ? (
          <p class="empty">{t("no_data")}</p>
        ) : (
          <figure>
            <figcaption class="muted small">{t("costs_caption")}</figcaption>
            <BarChart label="costs" xLabel={t("channel")} labels={[...byChannel.keys()]} series={[{ label: t("amount"), values: [...byChannel.values()], colour: "#1a7f37" }]} />
            <Numbers>
              <div class="scroll"><table class="report-table">
                <caption class="visually-hidden">{t("costs_title")}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("month")}</th>
                    <th scope="col">{t("direction")}</th>
                    <th scope="col">{t("channel")}</th>
                    <th scope="col" class="num">{t("amount")}</th>
                    <th scope="col">{t("currency")}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((row, index) => (
                    <tr key={index} class={row.channel === "all" ? "row-total" : undefined}>
                      <th scope="row">{String(row.month)}</th>
                      <td>{String(row.direction)}</td>
                      <td>{row.channel === "all" ? t("total") : term(String(row.channel))}</td>
                      <td class="num">{number(Number(row.amount_minor ?? 0) / 100, 2)}</td>
                      <td>{String(row.currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table></div>
            </Numbers>
          </figure>
        ))}
    </Section>
  );
}

function Complaints(props: { range: Range }) {
  const path = `/reports/complaints${query({ direction: props.range.direction, limit: 20 })}`;
  const state = useReport(path);
  const rows = state.data?.rows ?? [];
  return (
    <Section id="complaints" title={t("complaints_title")} csv={{ path }}>
      <Loading state={state} />
      {state.data &&
        (rows.length === 0 ? (
          <p class="empty">{t("complaints_none")}</p>
        ) : (
          <ul class="complaints">
            {rows.map((row) => (
              <li key={String(row.ticket_id)}>
                <a href={ticketHref(String(row.ticket_id))}>{String(row.ticket_id)}</a>{" "}
                <span class="muted small">
                  {when(row.created_at as string)} · {term(String(row.channel))}
                  {row.topic ? ` · ${row.topic}` : ""}
                </span>
                <p class="complaint-text">{String(row.subject ?? "—")}</p>
              </li>
            ))}
          </ul>
        ))}
    </Section>
  );
}
