import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, query } from "../api";
import { ctrlEnter, described, errorText, Field, FieldError, FormError, placeError } from "../components";
import { hasRole, home, session } from "../auth";
import { config } from "../config";
import { saveDraft, useDraft, useRequestId } from "../drafts";
import { clockTime, lang, t, term, when } from "../i18n";
import { incidentHref } from "../router";
import type { Notice, Severity } from "../types";

export const SEVERITIES: Severity[] = ["red", "yellow", "green"];

/** The severity in its colour (the API's) and in words, so colour is never the only sign. */
export function SeverityBadge(props: { notice: Pick<Notice, "severity" | "colour"> }) {
  const { severity, colour } = props.notice;
  return (
    <span class={`badge severity severity-${severity}`} style={{ "--severity": colour }} data-severity={severity}>
      {term(severity)}
    </span>
  );
}

export function StateBadge(props: { state: Notice["state"] }) {
  return <span class={`badge incident-state state-${props.state}`}>{term(props.state)}</span>;
}

/** A notice's text in the console's language, else Russian, else any (as the API does). */
export function textOf(text: Record<string, string>): string {
  return text[lang()] || text.ru || Object.values(text)[0] || "";
}

/** The text of a post as the API takes it: the languages typed; none typed, both (so the
 * API names each empty field). */
export function textBody(ru: string, en: string): Record<string, string> {
  const text: Record<string, string> = {};
  if (ru !== "") text.ru = ru;
  if (en !== "") text.en = en;
  return Object.keys(text).length ? text : { ru, en };
}

/** Whether a text the API kept is the one that was sent (the API trims each language). */
export function sameText(kept: Record<string, string>, sent: Record<string, string>): boolean {
  const trimmed = Object.entries(sent).map(([language, text]) => [language, text.trim()]);
  return (
    Object.keys(kept).length === trimmed.length && trimmed.every(([language, text]) => kept[language] === text)
  );
}

/** Active incidents first, then the newest. */
export function ordered(notices: Notice[]): Notice[] {
  const rank = (notice: Notice) => (notice.state === "active" ? 0 : 1);
  return [...notices].sort(
    (a, b) => rank(a) - rank(b) || b.started_at.localeCompare(a.started_at) || b.id.localeCompare(a.id),
  );
}

/** What someone without the commander role sees on an incidents page (the API would answer
 * 403): said plainly, with the way back, and nothing is asked of the API. */
export function CommandersOnly(props: { title: string; message?: string }) {
  const who = session();
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {props.title}
      </h1>
      <p class="notice" id="commanders-only" role="alert">
        {t("commanders_only", { user: who?.name ?? who?.user ?? "?", roles: who?.roles.join(", ") || "—" })}
        {props.message && <span class="muted small"> ({props.message})</span>}
      </p>
      {home() !== "#/incidents" && (
        <p>
          <a href={home()}>{t("back_to_queue")}</a>
        </p>
      )}
    </section>
  );
}

/** A datetime-local value (the commander's own time) as a UTC instant; anything unreadable
 * goes as typed, for the API to name beside the field. */
export function etaBody(local: string): string | undefined {
  if (!local) return undefined;
  const instant = new Date(local);
  return Number.isNaN(instant.getTime()) ? local : instant.toISOString();
}

/** Both languages of a post's text, Russian first, each marked with its language. */
export function TextFields(props: {
  form: string;
  ru: string;
  en: string;
  errors: Record<string, string | undefined>;
  onRu: (value: string) => void;
  onEn: (value: string) => void;
}) {
  const { form, errors } = props;
  return (
    <>
      <Field id={`${form}-text-ru`} label={t("text_ru")} error={errors.ru} hint={t("text_hint")}>
        <textarea
          {...described(`${form}-text-ru`, errors.ru, t("text_hint"))}
          lang="ru"
          rows={3}
          maxLength={1000}
          value={props.ru}
          onInput={(e) => props.onRu(e.currentTarget.value)}
          onKeyDown={ctrlEnter}
        />
      </Field>
      <Field id={`${form}-text-en`} label={t("text_en")} error={errors.en}>
        <textarea
          {...described(`${form}-text-en`, errors.en)}
          lang="en"
          rows={3}
          maxLength={1000}
          value={props.en}
          onInput={(e) => props.onEn(e.currentTarget.value)}
          onKeyDown={ctrlEnter}
        />
      </Field>
    </>
  );
}

export function Incidents() {
  if (!hasRole("commander")) return <CommandersOnly title={t("incidents_title")} />;
  return <IncidentList />;
}

function IncidentList() {
  const [items, setItems] = useState<Notice[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [refreshedAt, setRefreshedAt] = useState<string | null>(null);
  const inFlight = useRef(false);
  const live = useRef(true);

  // One API call per load and per refresh, as the queue.
  const load = useCallback(async (first: boolean) => {
    if (inFlight.current || (!first && document.visibilityState === "hidden")) return;
    inFlight.current = true;
    try {
      const found = await api<{ broadcasts: Notice[] }>("GET", `/broadcasts${query({ limit: 50 })}`);
      if (!live.current) return;
      setItems(found.broadcasts);
      setError(null);
      setRefreshedAt(new Date().toISOString());
    } catch (caught) {
      if (live.current && caught instanceof ApiError && caught.status !== 401) setError(caught);
    } finally {
      inFlight.current = false;
    }
  }, []);

  useEffect(() => {
    live.current = true;
    void load(true);
    const timer = window.setInterval(() => void load(false), config().refresh_seconds * 1000);
    return () => {
      live.current = false;
      window.clearInterval(timer);
    };
  }, [load]);

  function started(notice: Notice) {
    setItems((list) => [notice, ...(list ?? []).filter((item) => item.id !== notice.id)]);
  }

  // The role in the token says commander, the API says no (a group taken away since).
  if (error?.status === 403) return <CommandersOnly title={t("incidents_title")} message={error.message} />;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t("incidents_title")}
      </h1>
      <StartForm onStarted={started} />
      {items === null && !error && (
        <p class="muted" role="status">
          {t("loading")}
        </p>
      )}
      {items === null && error && <FormError id="incidents-error" error={error.message} />}
      {items && items.length === 0 && <p class="empty">{t("no_incidents")}</p>}
      {items && items.length > 0 && (
        <table class="tickets incidents">
          <caption class="visually-hidden">{t("incidents_title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("incident")}</th>
              <th scope="col">{t("state")}</th>
              <th scope="col">{t("directions")}</th>
              <th scope="col">{t("started")}</th>
              <th scope="col">{t("updated")}</th>
              <th scope="col">{t("latest_text")}</th>
            </tr>
          </thead>
          <tbody>
            {ordered(items).map((notice) => (
              <tr key={notice.id} data-incident={notice.id} class={`incident-row severity-${notice.severity}`} style={{ "--severity": notice.colour }}>
                <td data-label={t("incident")}>
                  <span>
                    <SeverityBadge notice={notice} /> <a href={incidentHref(notice.id)}>{notice.id}</a>
                  </span>
                </td>
                <td data-label={t("state")}>
                  <StateBadge state={notice.state} />
                </td>
                <td data-label={t("directions")}>{notice.directions.join(", ")}</td>
                <td data-label={t("started")}>
                  <time dateTime={notice.started_at}>{when(notice.started_at)}</time>
                </td>
                <td data-label={t("updated")}>
                  <span>
                    <time dateTime={notice.updated_at}>{when(notice.updated_at)}</time>
                    {notice.eta && notice.state === "active" && (
                      <span class="muted small"> · {t("eta_at", { time: when(notice.eta) })}</span>
                    )}
                  </span>
                </td>
                <td data-label={t("latest_text")} class="latest-text">
                  {textOf(notice.text)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="muted small refreshed">
        {refreshedAt && t("updated_at", { time: clockTime(refreshedAt) })}
        {items && error && ` · ${t("refresh_failed", { message: errorText(error) })}`}
      </p>
    </section>
  );
}

type StartBody = { severity: Severity; directions: string[]; text: Record<string, string> };

/** Whether the incident the API answered with is the one this press described (else an
 * earlier press with the same request_id had started it, before the form was changed). */
function reflects(notice: Notice, body: StartBody): boolean {
  const directions = [...new Set(body.directions)].sort();
  return (
    notice.severity === body.severity &&
    notice.directions.join(" ") === directions.join(" ") &&
    sameText(notice.posts[0]?.text ?? notice.text, body.text)
  );
}

type StartDraft = {
  severity: Severity;
  directions: string;
  ru: string;
  en: string;
  eta: string;
  telegram: boolean;
  whatsapp: boolean;
};

function StartForm(props: { onStarted: (notice: Notice) => void }) {
  const [draft, setDraft, clearDraft] = useDraft<StartDraft>("incident.start", {
    severity: "red",
    directions: localStorage.getItem("helpdesk.direction") || "d0",
    ru: "",
    en: "",
    eta: "",
    telegram: true,
    whatsapp: true,
  });
  const request = useRequestId("incident.start");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [earlier, setEarlier] = useState(false);
  const red = draft.severity === "red";
  const set = <K extends keyof StartDraft>(name: K, value: StartDraft[K]) => setDraft({ ...draft, [name]: value });

  async function submit(event: Event) {
    event.preventDefault();
    const body = {
      severity: draft.severity,
      directions: draft.directions.split(/[\s,]+/).filter(Boolean),
      text: textBody(draft.ru, draft.en),
      eta: etaBody(draft.eta),
      channels: [draft.telegram && "telegram", red && draft.whatsapp && "whatsapp"].filter(
        (channel): channel is string => Boolean(channel),
      ),
    };
    setDone(null);
    if (body.channels.length === 0) {
      // The API takes channels [] (banner and incident channel only), but such a notice
      // cannot be read back yet: GET /broadcasts answers 500 for everyone from then on, and
      // it cannot be resolved (docs/decisions.md). Until that is fixed, one channel at least.
      setError(new ApiError(422, "invalid_request", t("channels_needed"), { channels: [] }));
      return;
    }
    // One request_id for this incident until the API has started it: pressing again after
    // no answer is answered with the incident the first press started, never a second one.
    const requestId = request.begin();
    setBusy(true);
    setError(null);
    setEarlier(false);
    try {
      const notice = await api<Notice>("POST", "/broadcasts", { ...body, request_id: requestId });
      request.done();
      if (!reflects(notice, body)) {
        // An earlier press had started it, before the form was changed: what was changed
        // waits in the incident's update form, so nothing typed is lost.
        saveDraft(`incident.${notice.id}.update`, { ru: draft.ru, en: draft.en, eta: draft.eta });
        setEarlier(true);
      }
      clearDraft();
      setDone(notice.id);
      props.onStarted(notice);
    } catch (caught) {
      const failed = caught instanceof ApiError ? caught : new ApiError(0, "error", errorText(caught));
      if (failed.status !== 401) setError(failed);
    } finally {
      setBusy(false);
    }
  }

  const placed = placeError(error, {
    severity: ["severity"],
    directions: ["directions"],
    ru: ["text.ru", "text"],
    en: ["text.en"],
    eta: ["eta"],
    channels: ["channels"],
  });
  const errors = placed.field;
  const known = (error?.details.directions as string[] | undefined) ?? [];
  return (
    <form class="card incident-start" onSubmit={submit} aria-labelledby="start-title" noValidate>
      <h2 id="start-title">{t("start_incident")}</h2>
      <div class="incident-start-grid">
        <div>
          <Field id="start-severity" label={t("severity")} error={errors.severity}>
            <select
              {...described("start-severity", errors.severity)}
              value={draft.severity}
              onChange={(e) => set("severity", e.currentTarget.value as Severity)}
            >
              {SEVERITIES.map((severity) => (
                <option value={severity} key={severity}>
                  {t(`severity_${severity}`)}
                </option>
              ))}
            </select>
          </Field>
          <Field id="start-directions" label={t("directions")} error={errors.directions} hint={t("directions_hint")}>
            <input
              {...described("start-directions", errors.directions, t("directions_hint"))}
              value={draft.directions}
              required
              list="start-known-directions"
              onInput={(e) => set("directions", e.currentTarget.value)}
            />
            <datalist id="start-known-directions">
              {known.map((direction) => (
                <option value={direction} key={direction} />
              ))}
            </datalist>
          </Field>
          <Field id="start-eta" label={t("eta")} error={errors.eta} hint={t("eta_hint")}>
            <input
              {...described("start-eta", errors.eta, t("eta_hint"))}
              type="datetime-local"
              value={draft.eta}
              onInput={(e) => set("eta", e.currentTarget.value)}
            />
          </Field>
          <fieldset
            class={`channels${errors.channels ? " has-error" : ""}`}
            aria-describedby={["start-channels-hint", errors.channels ? "start-channels-error" : ""].join(" ").trim()}
          >
            <legend>{t("channels")}</legend>
            <div class="check">
              <input
                id="start-telegram"
                type="checkbox"
                checked={draft.telegram}
                onChange={(e) => set("telegram", e.currentTarget.checked)}
              />
              <label for="start-telegram">{term("telegram")}</label>
            </div>
            <div class="check">
              <input
                id="start-whatsapp"
                type="checkbox"
                checked={red && draft.whatsapp}
                disabled={!red}
                aria-describedby={red ? undefined : "start-whatsapp-hint"}
                onChange={(e) => set("whatsapp", e.currentTarget.checked)}
              />
              <label for="start-whatsapp">{term("whatsapp")}</label>
              {!red && (
                <span class="hint" id="start-whatsapp-hint">
                  {t("whatsapp_red_only")}
                </span>
              )}
            </div>
            <p class="hint" id="start-channels-hint">
              {t("channels_hint")}
            </p>
            <FieldError id="start-channels" error={errors.channels} />
          </fieldset>
        </div>
        <div>
          <TextFields
            form="start"
            ru={draft.ru}
            en={draft.en}
            errors={errors}
            onRu={(value) => set("ru", value)}
            onEn={(value) => set("en", value)}
          />
        </div>
      </div>
      <div class="actions">
        <button type="submit" class="danger" disabled={busy}>
          {t("start")}
        </button>
        <FormError id="start-error" error={placed.form} />
        {done && (
          <p class="ok" role="status">
            <a href={incidentHref(done)}>{t("incident_started", { id: done })}</a>
            {earlier && <> {t("started_earlier")}</>}
          </p>
        )}
      </div>
    </form>
  );
}
