import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "./api";
import { config } from "./config";
import { t, term, when } from "./i18n";
import { customerHref, ticketHref } from "./router";
import type { TicketSummary } from "./types";

/** A label, its control, a hint and the API's message about this control, tied together
 * with aria-describedby so a screen reader reads the error with the field. */
export function Field(props: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  children: ComponentChildren;
  inline?: boolean;
}) {
  return (
    <div class={`field${props.inline ? " field-inline" : ""}${props.error ? " has-error" : ""}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      <FieldError id={props.id} error={props.error} />
    </div>
  );
}

export function FieldError(props: { id: string; error?: string }) {
  return props.error ? (
    <p class="error" id={`${props.id}-error`} role="alert">
      {props.error}
    </p>
  ) : null;
}

/** aria attributes of a control whose Field may show an error and a hint. */
export function described(id: string, error?: string, hint?: string) {
  const ids = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return { id, "aria-invalid": error ? ("true" as const) : undefined, "aria-describedby": ids || undefined };
}

/** The error of a whole action, shown beside its submit button. */
export function FormError(props: { id: string; error?: string | null }) {
  return props.error ? (
    <p class="error form-error" id={props.id} role="alert">
      {props.error}
    </p>
  ) : null;
}

/** An API error beside the fields it is about: `fields` names the body paths each field shows
 * ("text.ru"; a path also covers what lies under it, "directions" covers "directions.0"), and
 * a refusal whose details name a field's list (`{"directions": ["d0"]}`) is shown there too.
 * Whatever no field shows goes beside the button (`form`); after an unanswered request it
 * says that pressing again is safe. */
export function placeError(
  error: ApiError | null | undefined,
  fields: Record<string, string[]>,
): { field: Record<string, string | undefined>; form?: string } {
  const field: Record<string, string | undefined> = {};
  if (!error) return { field };
  const problems = error.problemsByPath();
  const left = new Set(Object.keys(problems));
  for (const [name, paths] of Object.entries(fields)) {
    const found = Object.keys(problems).filter((path) =>
      paths.some((wanted) => path === wanted || path.startsWith(`${wanted}.`)),
    );
    found.forEach((path) => left.delete(path));
    if (found.length) field[name] = found.map((path) => problems[path]).join("; ");
  }
  if (Object.keys(problems).length === 0) {
    const named = Object.keys(fields).find((name) => name in error.details || error.details.field === name);
    if (named) return { field: { [named]: error.message } };
  }
  if (Object.keys(problems).length > 0 && left.size === 0) return { field };
  const form = error.outcomeUnknown ? `${error.message} ${t("retry_same")}` : error.message;
  return { field, form };
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

export function isBreached(due: string | null | undefined, now = Date.now()): boolean {
  return Boolean(due) && Date.parse(due as string) < now;
}

export function Due(props: { due: string | null | undefined }) {
  if (!props.due) return <span class="muted">—</span>;
  const breached = isBreached(props.due);
  return (
    <span class={breached ? "due breached" : "due"}>
      <time dateTime={props.due}>{when(props.due)}</time>
      {breached && <span class="badge badge-breached">{t("breached")}</span>}
    </span>
  );
}

export function Badges(props: { ticket: TicketSummary }) {
  const { ticket } = props;
  return (
    <>
      {ticket.our_client && <span class="badge badge-our">{t("our_client")}</span>}
      {ticket.flags.map((flag) => (
        <span class={`badge badge-flag flag-${flag}`} key={flag}>
          {term(flag)}
        </span>
      ))}
    </>
  );
}

/** Ticket summaries as a table on a laptop, as cards on a phone (CSS). */
export function TicketTable(props: { tickets: TicketSummary[]; caption: string }) {
  return (
    <table class="tickets">
      <caption class="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t("ticket")}</th>
          <th scope="col">{t("subject")}</th>
          <th scope="col">{t("client")}</th>
          <th scope="col">{t("status")}</th>
          <th scope="col">{t("priority")}</th>
          <th scope="col">{t("assignee")}</th>
          <th scope="col">{t("due")}</th>
        </tr>
      </thead>
      <tbody>
        {props.tickets.map((ticket) => (
          <tr key={ticket.id} class={isBreached(ticket.response_due) ? "row-breached" : undefined}>
            <td data-label={t("ticket")}>
              <a href={ticketHref(ticket.id)}>{ticket.id}</a>
              <span class="muted small"> {term(ticket.channel)}</span>
            </td>
            <td data-label={t("subject")}>
              <span class="subject">{ticket.subject || "—"}</span> <Badges ticket={ticket} />
            </td>
            <td data-label={t("client")}>
              <a href={customerHref(ticket.customer_id)}>
                {ticket.customer_name || ticket.customer_address || ticket.customer_id}
              </a>
            </td>
            <td data-label={t("status")}>
              <span class={`status status-${ticket.status}`}>{term(ticket.status)}</span>
              {ticket.category && <span class="muted small"> · {term(ticket.category)}</span>}
            </td>
            <td data-label={t("priority")}>
              <span class={`priority priority-${ticket.priority}`}>{term(ticket.priority)}</span>
            </td>
            <td data-label={t("assignee")}>{ticket.assignee || "—"}</td>
            <td data-label={t("due")}>
              <Due due={ticket.response_due} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Submit textareas with Ctrl+Enter (Enter alone makes a new line). */
export function ctrlEnter(event: KeyboardEvent): void {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    (event.currentTarget as HTMLTextAreaElement).form?.requestSubmit();
  }
}

export const STATUSES = ["new", "open", "on_hold", "resolved", "closed"];
export const CATEGORIES = ["question", "suggestion", "problem", "complaint", "feedback"];
export const PRIORITIES = ["low", "normal", "high", "urgent"];
export const CHANNELS = ["telegram", "whatsapp", "email", "phone", "manual", "sandbox"];
export const FLAGS = ["needs_callback", "missed_call", "problem_call", "delivery_failed", "no_auto_reply"];

export function Options(props: { values: string[]; blank?: string }) {
  return (
    <>
      {props.blank !== undefined && <option value="">{props.blank}</option>}
      {props.values.map((value) => (
        <option value={value} key={value}>
          {term(value)}
        </option>
      ))}
    </>
  );
}

/** GET `path` now and again every refresh interval: one call at a time, none while the tab
 * is hidden; a new path starts afresh. `at` is when the data last came. */
export function usePolled<T>(path: string): { data: T | null; error: ApiError | null; at: string | null } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [at, setAt] = useState<string | null>(null);
  const inFlight = useRef(false);
  useEffect(() => {
    let live = true;
    async function load(first: boolean) {
      if (inFlight.current || (!first && document.visibilityState === "hidden")) return;
      inFlight.current = true;
      try {
        const found = await api<T>("GET", path);
        if (!live) return;
        setData(found);
        setError(null);
        setAt(new Date().toISOString());
      } catch (caught) {
        if (live && caught instanceof ApiError && caught.status !== 401) setError(caught);
      } finally {
        inFlight.current = false;
      }
    }
    setData(null);
    void load(true);
    const timer = window.setInterval(() => void load(false), config().refresh_seconds * 1000);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [path]);
  return { data, error, at };
}
