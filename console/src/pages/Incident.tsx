import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { described, errorText, Field, FormError, placeError } from "../components";
import { hasRole } from "../auth";
import { config } from "../config";
import { useDraft, useRequestId } from "../drafts";
import { t, term, when, type Key } from "../i18n";
import type { DeliveryCounts, Notice, NoticePost } from "../types";
import {
  CommandersOnly,
  etaBody,
  sameText,
  SeverityBadge,
  StateBadge,
  TextFields,
  textBody,
  textOf,
} from "./Incidents";

const COUNTS: (keyof DeliveryCounts)[] = ["queued", "sent", "failed", "skipped", "pending"];
/** A post this recent whose counters have not appeared yet is still being fanned out (a
 * revision with nobody to tell never gets counters, so the watch cannot wait for them). */
const FRESH_MS = 120_000;

function fresh(post: NoticePost, now: number): boolean {
  return now - Date.parse(post.at) < FRESH_MS;
}

/** Whether the delivery is still moving: a channel the API does not call done, something
 * queued and not yet sent or failed, or a fresh post not yet counted in one of its channels. */
export function stillDelivering(notice: Notice, now = Date.now()): boolean {
  const delivery = notice.delivery ?? {};
  const pending = Object.values(delivery).some((channels) =>
    Object.values(channels).some((counts) => counts.pending > 0 || counts.done === false),
  );
  if (pending) return true;
  return notice.posts.some(
    (post) => fresh(post, now) && notice.channels.some((channel) => !delivery[String(post.revision)]?.[channel]),
  );
}

/** Outcome of a form: `earlier` when the API answered with what an earlier attempt of the
 * same post had done (no answer had come back then), so what was changed since is unposted. */
type Outcome = { error?: ApiError; done?: boolean; earlier?: boolean };
type PostBody = { text: Record<string, string> } & Record<string, unknown>;
type Post = (
  form: "update" | "resolve",
  body: PostBody,
  request: ReturnType<typeof useRequestId>,
) => Promise<boolean>;

export function Incident(props: { id: string }) {
  if (!hasRole("commander")) return <CommandersOnly title={props.id} />;
  return <IncidentPage id={props.id} />;
}

function IncidentPage(props: { id: string }) {
  const { id } = props;
  const path = `/broadcasts/${encodeURIComponent(id)}`;
  const [data, setData] = useState<Notice | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [outcomes, setOutcomes] = useState<Record<string, Outcome>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [conflict, setConflict] = useState<string | null>(null);
  const inFlight = useRef(0);
  const latest = useRef(0);

  /** One GET of the notice with its delivery; a refresh skips while one is on its way, a
   * load after a post does not (only the newest answer is shown). */
  const load = useCallback(
    async (refresh = false) => {
      if (refresh && (inFlight.current > 0 || document.visibilityState === "hidden")) return;
      const mine = ++latest.current;
      inFlight.current += 1;
      try {
        const found = await api<Notice>("GET", path);
        if (mine !== latest.current) return;
        setData(found);
        setLoadError(null);
      } catch (caught) {
        if (mine === latest.current && caught instanceof ApiError && caught.status !== 401) setLoadError(caught);
      } finally {
        inFlight.current -= 1;
      }
    },
    [path],
  );

  useEffect(() => {
    setData(null);
    setOutcomes({});
    void load();
    return () => {
      latest.current += 1; // answers still on their way are for a page no longer shown
    };
  }, [load]);

  // The delivery counters are re-read every few seconds while they are still moving: one
  // API call per refresh, as the queue; nothing at all once everything is told.
  const watching = data ? stillDelivering(data) : false;
  useEffect(() => {
    if (!watching) return;
    const timer = window.setInterval(() => void load(true), config().refresh_seconds * 1000);
    return () => window.clearInterval(timer);
  }, [watching, load]);

  const post: Post = async (form, body, request) => {
    // One request_id for this post until the API has carried it out: a retry after no
    // answer is answered with what the first attempt did, never posted twice.
    const requestId = request.begin();
    setBusy(form);
    setConflict(null);
    setOutcomes((all) => ({ ...all, [form]: {} }));
    try {
      const notice = await api<Notice>("POST", `${path}/${form === "update" ? "updates" : "resolve"}`, {
        ...body,
        request_id: requestId,
      });
      request.done();
      setData((before) => ({ ...notice, delivery: before?.delivery }));
      const kind = form === "update" ? "update" : "resolved";
      const posted = notice.posts.some((item) => item.kind === kind && sameText(item.text, body.text));
      setOutcomes((all) => ({ ...all, [form]: { done: true, earlier: !posted } }));
      // A resolve form is gone once the incident is resolved: its news goes to the top.
      if (!posted && form === "resolve") setConflict(t("resolved_earlier"));
      void load();
      return posted; // else the draft stays: it was not posted
    } catch (caught) {
      const error = caught instanceof ApiError ? caught : new ApiError(0, "error", errorText(caught));
      if (error.status === 401) return false;
      if (error.status === 409) {
        // Resolved meanwhile: the reloaded page no longer offers this form, so the reason
        // is told at the top.
        const told = error.details.status === "resolved" ? t("incident_resolved_meanwhile") : t("incident_conflict");
        setConflict(`${told} (${error.message})`);
        await load();
      }
      setOutcomes((all) => ({ ...all, [form]: { error } }));
      return false;
    } finally {
      setBusy(null);
    }
  };

  if (loadError?.status === 403) return <CommandersOnly title={id} message={loadError.message} />;
  if (!data) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          {id}
        </h1>
        {loadError ? (
          <p class="error" role="alert">
            {loadError.status === 404 ? t("not_found") : loadError.message}
          </p>
        ) : (
          <p class="muted" role="status">
            {t("loading")}
          </p>
        )}
        <p>
          <a href="#/incidents">{t("back_to_incidents")}</a>
        </p>
      </section>
    );
  }
  const active = data.state === "active";
  return (
    <article class="incident" aria-labelledby="page-title">
      <header class="ticket-head">
        <h1 id="page-title" tabIndex={-1}>
          <SeverityBadge notice={data} /> <span class="ticket-id">{data.id}</span>{" "}
          <StateBadge state={data.state} />
        </h1>
        <button type="button" class="secondary" onClick={() => void load()}>
          {t("reload")}
        </button>
        <p class="ticket-meta incident-text" style={{ "--severity": data.colour }}>
          {textOf(data.text)}
        </p>
        {conflict && (
          <p class="error conflict ticket-conflict" id="incident-conflict" role="alert">
            {conflict}
          </p>
        )}
        {loadError && (
          <p class="muted small ticket-conflict">{t("refresh_failed", { message: loadError.message })}</p>
        )}
      </header>
      <div class="ticket-grid">
        <div class="ticket-main">
          <Timeline notice={data} />
          <Delivery notice={data} watching={watching} />
          {active ? (
            <>
              <UpdateForm notice={data} post={post} outcome={outcomes.update} busy={busy === "update"} />
              <ResolveForm notice={data} post={post} outcome={outcomes.resolve} busy={busy === "resolve"} />
            </>
          ) : (
            <p class="notice">{t("is_resolved")}</p>
          )}
        </div>
        <aside class="ticket-side">
          <Details notice={data} />
          <p>
            <a href="#/incidents">{t("back_to_incidents")}</a>
          </p>
        </aside>
      </div>
    </article>
  );
}

function Details(props: { notice: Notice }) {
  const { notice } = props;
  const rows: [string, preact.ComponentChildren][] = [
    [t("severity"), t(`severity_${notice.severity}`)],
    [t("state"), term(notice.state)],
    [t("directions"), notice.directions.join(", ")],
    [t("channels"), notice.channels.map(term).join(", ") || "—"],
    [t("started"), when(notice.started_at)],
    [t("updated"), when(notice.updated_at)],
  ];
  if (notice.eta) rows.push([t("eta_short"), when(notice.eta)]);
  if (notice.resolved_at) {
    rows.push([t("resolved_at"), when(notice.resolved_at)]);
    rows.push([t("resolves_linked"), notice.resolve_linked ? t("yes") : t("no")]);
  }
  rows.push([t("started_by"), notice.created_by]);
  return (
    <section class="card" aria-labelledby="details-title">
      <h2 id="details-title">{t("details")}</h2>
      <dl class="facts">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function Timeline(props: { notice: Notice }) {
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">{t("timeline")}</h2>
      <ol class="messages posts">
        {props.notice.posts.map((post) => (
          <li class={`message post post-${post.kind}`} key={post.revision} data-revision={post.revision}>
            <p class="message-head">
              <span class="message-kind">{t(`post_${post.kind}`)}</span>{" "}
              <span class="muted small">#{post.revision}</span> <span class="message-author">{post.by}</span>{" "}
              <time class="muted small" dateTime={post.at}>
                {when(post.at)}
              </time>
              {post.eta && <span class="badge">{t("eta_at", { time: when(post.eta) })}</span>}
            </p>
            {Object.entries(post.text).map(([language, text]) => (
              <p class="message-text" lang={language} key={language}>
                <abbr class="post-lang muted small" title={language === "ru" ? "русский" : "English"}>
                  {language.toUpperCase()}
                </abbr>{" "}
                {text}
              </p>
            ))}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** The counters of every revision in every channel the notice goes to. A channel with
 * nobody counted says why: not counted yet (its fan-out is not done), or nobody to tell. */
function Delivery(props: { notice: Notice; watching: boolean }) {
  const { notice, watching } = props;
  const delivery = notice.delivery ?? {};
  const now = Date.now();
  return (
    <section class="card delivery-progress" aria-labelledby="delivery-title">
      <h2 id="delivery-title">{t("delivery_progress")}</h2>
      {notice.channels.length === 0 ? (
        <p class="muted">{t("delivery_banner_only")}</p>
      ) : (
        <table class="tickets delivery-table">
          <caption class="visually-hidden">{t("delivery_progress")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("revision")}</th>
              <th scope="col">{t("channel")}</th>
              {COUNTS.map((name) => (
                <th scope="col" class="count" key={name}>
                  {t(`count_${name}` as Key)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {notice.posts.flatMap((post) =>
              notice.channels.map((channel) => {
                const counts = delivery[String(post.revision)]?.[channel];
                const done = counts ? counts.sent + counts.failed : 0;
                return (
                  <tr key={`${post.revision}-${channel}`} data-revision={post.revision} data-channel={channel}>
                    <th scope="row" data-label={t("revision")}>
                      #{post.revision} <span class="muted small">{t(`post_${post.kind}`)}</span>
                    </th>
                    <td data-label={t("channel")} class="channel">
                      {term(channel)}
                      {counts && counts.queued > 0 && (
                        <progress
                          max={counts.queued}
                          value={done}
                          aria-label={`${term(channel)} #${post.revision}: ${done} / ${counts.queued}`}
                        />
                      )}
                      {(!counts || counts.queued + counts.skipped === 0) && (
                        <span class="muted small">
                          {" "}
                          ·{" "}
                          {counts?.done === false || (!counts && fresh(post, now))
                            ? t("delivery_not_counted")
                            : t("delivery_nobody")}
                        </span>
                      )}
                    </td>
                    {COUNTS.map((name) => (
                      <td
                        data-label={t(`count_${name}` as Key)}
                        data-state={name}
                        class={`count${name === "failed" && counts?.failed ? " count-failed" : ""}`}
                        key={name}
                      >
                        {counts ? counts[name] : 0}
                      </td>
                    ))}
                  </tr>
                );
              }),
            )}
          </tbody>
        </table>
      )}
      {notice.channels.length > 0 && (
        <p class="muted small watching" id="delivery-watch">
          {watching ? t("delivery_watching", { n: config().refresh_seconds }) : t("delivery_settled")}
        </p>
      )}
    </section>
  );
}

type FormProps = { notice: Notice; post: Post; outcome?: Outcome; busy: boolean };

function Done(props: { form: string; outcome?: Outcome; placed: { form?: string } }) {
  const { outcome, placed } = props;
  if (placed.form) return <FormError id={`${props.form}-error`} error={placed.form} />;
  if (outcome?.earlier) {
    return (
      <p class="notice small" id={`${props.form}-earlier`} role="status">
        {t("posted_earlier")}
      </p>
    );
  }
  return outcome?.done ? (
    <p class="ok small" role="status">
      {t("done")}
    </p>
  ) : null;
}

function UpdateForm(props: FormProps) {
  const { notice, post, outcome, busy } = props;
  const [draft, setDraft, clearDraft] = useDraft(`incident.${notice.id}.update`, { ru: "", en: "", eta: "" });
  const request = useRequestId(`incident.${notice.id}.update`);
  const placed = placeError(outcome?.error, { ru: ["text.ru", "text"], en: ["text.en"], eta: ["eta"] });
  const errors = placed.field;
  async function submit(event: Event) {
    event.preventDefault();
    const body = { text: textBody(draft.ru, draft.en), eta: etaBody(draft.eta) };
    if (await post("update", body, request)) clearDraft();
  }
  return (
    <form class="card compose" id="update-form" onSubmit={submit} aria-labelledby="update-title" noValidate>
      <h2 id="update-title">{t("update_title")}</h2>
      <TextFields
        form="update"
        ru={draft.ru}
        en={draft.en}
        errors={errors}
        onRu={(ru) => setDraft({ ...draft, ru })}
        onEn={(en) => setDraft({ ...draft, en })}
      />
      <Field id="update-eta" label={t("eta")} error={errors.eta} hint={t("eta_keep_hint")}>
        <input
          {...described("update-eta", errors.eta, t("eta_keep_hint"))}
          type="datetime-local"
          value={draft.eta}
          onInput={(e) => setDraft({ ...draft, eta: e.currentTarget.value })}
        />
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {t("post_update_button")}
        </button>
        <Done form="update" outcome={outcome} placed={placed} />
      </div>
    </form>
  );
}

function ResolveForm(props: FormProps) {
  const { notice, post, outcome, busy } = props;
  const [draft, setDraft, clearDraft] = useDraft(`incident.${notice.id}.resolve`, {
    ru: "",
    en: "",
    linked: false,
  });
  const request = useRequestId(`incident.${notice.id}.resolve`);
  const placed = placeError(outcome?.error, { ru: ["text.ru", "text"], en: ["text.en"], linked: ["resolve_linked"] });
  const errors = placed.field;
  async function submit(event: Event) {
    event.preventDefault();
    const body = { text: textBody(draft.ru, draft.en), resolve_linked: draft.linked };
    if (await post("resolve", body, request)) clearDraft();
  }
  return (
    <form class="card compose" id="resolve-form" onSubmit={submit} aria-labelledby="resolve-title" noValidate>
      <h2 id="resolve-title">{t("resolve_title")}</h2>
      <TextFields
        form="resolve"
        ru={draft.ru}
        en={draft.en}
        errors={errors}
        onRu={(ru) => setDraft({ ...draft, ru })}
        onEn={(en) => setDraft({ ...draft, en })}
      />
      <div class="check">
        <input
          id="resolve-linked"
          type="checkbox"
          checked={draft.linked}
          onChange={(e) => setDraft({ ...draft, linked: e.currentTarget.checked })}
        />
        <label for="resolve-linked">{t("resolve_linked")}</label>
      </div>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {t("resolve_button")}
        </button>
        <Done form="resolve" outcome={outcome} placed={placed} />
      </div>
    </form>
  );
}
