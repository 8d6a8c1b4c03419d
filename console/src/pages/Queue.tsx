import { useEffect, useState } from "preact/hooks";
import { query } from "../api";
import { session } from "../auth";
import {
  CATEGORIES,
  CHANNELS,
  described,
  errorText,
  Field,
  FLAGS,
  FormError,
  Options,
  usePolled,
  PRIORITIES,
  STATUSES,
  TicketTable,
} from "../components";
import { clockTime, t } from "../i18n";
import { navigate, type Route } from "../router";
import type { TicketPage } from "../types";

const FILTERS = ["direction", "status", "assignee", "category", "priority", "channel", "flag", "sort"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;
const TRAIL = "helpdesk.queue.trail";

function filtersOf(params: URLSearchParams): Filters {
  const found = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? ""])) as Filters;
  found.direction ||= localStorage.getItem("helpdesk.direction") || "d0";
  found.sort ||= "due";
  return found;
}

/** The API's own query for a sort choice: due, created (newest first), created_asc. */
function apiQuery(filters: Filters, cursor: string | null, limit: string | null) {
  const { sort, ...rest } = filters;
  return query({
    ...rest,
    sort: sort === "due" ? "due" : undefined,
    order: sort === "created_asc" ? "asc" : undefined,
    limit,
    cursor,
  });
}

/** The queue's address: filters, page size (limit, default the API's 25) and cursor. */
function hashOf(filters: Filters, cursor: string | null, limit: string | null): string {
  return `#/queue${query({ ...filters, limit, cursor })}`;
}

export function Queue(props: { route: Route }) {
  const applied = filtersOf(props.route.params);
  const cursor = props.route.params.get("cursor");
  const limit = props.route.params.get("limit");
  const [draft, setDraft] = useState<Filters>(applied);
  const [userId, setUserId] = useState(
    ["", "me", "none"].includes(applied.assignee) ? "" : applied.assignee,
  );
  const [trail, setTrail] = useState<string[]>(() => JSON.parse(sessionStorage.getItem(TRAIL) ?? "[]"));
  const request = apiQuery(applied, cursor, limit);

  useEffect(() => setDraft(applied), [props.route.hash]);

  // One API call per load and per refresh: the same page, re-read in place.
  const polled = usePolled<TicketPage>(`/tickets${request}`);
  const { data: page, error, at: refreshedAt } = polled;

  function keepTrail(next: string[]) {
    setTrail(next);
    sessionStorage.setItem(TRAIL, JSON.stringify(next));
  }

  function apply(event: Event) {
    event.preventDefault();
    const chosen = { ...draft, assignee: draft.assignee === "user" ? userId.trim() : draft.assignee };
    localStorage.setItem("helpdesk.direction", chosen.direction);
    keepTrail([]);
    navigate(hashOf(chosen, null, limit));
  }

  function next() {
    if (!page?.next_cursor) return;
    keepTrail([...trail, cursor ?? ""]);
    navigate(hashOf(applied, page.next_cursor, limit));
  }

  function previous() {
    const back = trail.slice(0, -1);
    const target = trail[trail.length - 1] || null;
    keepTrail(back);
    navigate(hashOf(applied, target, limit));
  }

  // The API's deadline order (sort=due) does not apply an assignee filter other than "none"
  // (reported); until it does, the rows of other assignees are left out here.
  const onlyFor =
    applied.sort === "due" && applied.assignee && applied.assignee !== "none"
      ? applied.assignee === "me"
        ? session()?.user
        : applied.assignee
      : null;
  const rows = page ? page.tickets.filter((ticket) => !onlyFor || ticket.assignee === onlyFor) : [];
  const problems = error?.fieldProblems() ?? {};
  const assigneeChoice = ["", "me", "none"].includes(draft.assignee) ? draft.assignee : "user";
  const formError = error && Object.keys(problems).length === 0 ? error.message : undefined;
  const set = (name: keyof Filters) => (e: Event) =>
    setDraft({ ...draft, [name]: (e.currentTarget as HTMLSelectElement).value });
  const directions = (error?.details.directions as string[] | undefined) ?? [];

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t("queue_title")}
      </h1>
      <form class="filters card" onSubmit={apply} aria-label={t("queue_title")}>
        <Field id="f-direction" label={t("direction")} error={problems.direction}>
          <input
            {...described("f-direction", problems.direction)}
            name="direction"
            value={draft.direction}
            required
            size={6}
            list="directions"
            onInput={set("direction")}
          />
          <datalist id="directions">
            {directions.map((d) => (
              <option value={d} key={d} />
            ))}
          </datalist>
        </Field>
        <Field id="f-status" label={t("status")} error={problems.status}>
          <select {...described("f-status", problems.status)} value={draft.status} onChange={set("status")}>
            <Options values={STATUSES} blank={t("any")} />
          </select>
        </Field>
        <Field id="f-assignee" label={t("assignee")} error={problems.assignee}>
          <select
            {...described("f-assignee", problems.assignee)}
            value={assigneeChoice}
            onChange={(e) => setDraft({ ...draft, assignee: e.currentTarget.value })}
          >
            <option value="">{t("assignee_any")}</option>
            <option value="me">{t("assignee_me")}</option>
            <option value="none">{t("assignee_none")}</option>
            <option value="user">{t("assignee_user")}</option>
          </select>
        </Field>
        {assigneeChoice === "user" && (
          <Field id="f-assignee-user" label={t("assignee_user_id")}>
            <input id="f-assignee-user" value={userId} size={10} onInput={(e) => setUserId(e.currentTarget.value)} />
          </Field>
        )}
        <Field id="f-category" label={t("category")} error={problems.category}>
          <select {...described("f-category", problems.category)} value={draft.category} onChange={set("category")}>
            <Options values={CATEGORIES} blank={t("any")} />
          </select>
        </Field>
        <Field id="f-priority" label={t("priority")} error={problems.priority}>
          <select {...described("f-priority", problems.priority)} value={draft.priority} onChange={set("priority")}>
            <Options values={PRIORITIES} blank={t("any")} />
          </select>
        </Field>
        <Field id="f-channel" label={t("channel")} error={problems.channel}>
          <select {...described("f-channel", problems.channel)} value={draft.channel} onChange={set("channel")}>
            <Options values={CHANNELS} blank={t("any")} />
          </select>
        </Field>
        <Field id="f-flag" label={t("flag")} error={problems.flag}>
          <select {...described("f-flag", problems.flag)} value={draft.flag} onChange={set("flag")}>
            <Options values={FLAGS} blank={t("any")} />
          </select>
        </Field>
        <Field id="f-sort" label={t("sort")} error={problems.sort}>
          <select {...described("f-sort", problems.sort)} value={draft.sort} onChange={set("sort")}>
            <option value="due">{t("sort_due")}</option>
            <option value="created">{t("sort_created")}</option>
            <option value="created_asc">{t("sort_created_asc")}</option>
          </select>
        </Field>
        <div class="actions">
          <button type="submit">{t("apply")}</button>
          <FormError id="queue-error" error={formError} />
        </div>
      </form>

      {page === null && !error && <p class="muted" role="status">{t("loading")}</p>}
      {page && rows.length === 0 && <p class="empty">{t("no_tickets")}</p>}
      {page && rows.length > 0 && <TicketTable tickets={rows} caption={t("queue_title")} />}
      <nav class="pager" aria-label={t("page_n", { n: trail.length + 1 })}>
        {cursor && (
          <button type="button" class="secondary" onClick={previous}>
            {t("prev_page")}
          </button>
        )}
        <span class="muted">{t("page_n", { n: cursor ? trail.length + 1 : 1 })}</span>
        {page?.next_cursor && (
          <button type="button" class="secondary" onClick={next}>
            {t("next_page")}
          </button>
        )}
        <span class="muted small refreshed">
          {refreshedAt && t("updated_at", { time: clockTime(refreshedAt) })}
          {page && error && ` · ${t("refresh_failed", { message: errorText(error) })}`}
        </span>
      </nav>
    </section>
  );
}
