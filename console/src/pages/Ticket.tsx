import { useCallback, useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { hasRole, session } from "../auth";
import {
  Badges,
  CATEGORIES,
  ctrlEnter,
  described,
  Due,
  errorText,
  Field,
  FormError,
  Options,
  PRIORITIES,
} from "../components";
import { useDraft } from "../drafts";
import { seconds, t, term, when, type Key } from "../i18n";
import { customerHref } from "../router";
import type { Call, Conversation, HistoryEntry, Message, Ticket as TicketT } from "../types";
import { ComplaintReply, KnowledgePanel, w } from "./Knowledge";

// Channels a written reply can reach; phone and hand-opened tickets are answered by a call.
const WRITTEN = ["telegram", "whatsapp", "sandbox", "email"];

type Outcome = { error?: ApiError | null; conflict?: boolean; done?: boolean };
type Act = (form: string, method: string, path: string, body: Record<string, unknown>) => Promise<boolean>;

export function Ticket(props: { id: string }) {
  const { id } = props;
  const [data, setData] = useState<Conversation | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [outcomes, setOutcomes] = useState<Record<string, Outcome>>({});
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setData(await api<Conversation>("GET", `/tickets/${encodeURIComponent(id)}`));
      setLoadError(null);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status !== 401) setLoadError(caught);
    }
  }, [id]);

  useEffect(() => {
    setData(null);
    setOutcomes({});
    void load();
  }, [load]);

  /** One action on the ticket, with the version the agent is looking at. A stale version
   * (409 version_conflict) reloads the ticket and says so; the drafts stay as typed. */
  const act: Act = async (form, method, path, body) => {
    if (!data) return false;
    setBusy(form);
    setOutcomes((all) => ({ ...all, [form]: {} }));
    try {
      await api(method, `/tickets/${encodeURIComponent(id)}${path}`, { ...body, version: data.ticket.version });
      await load();
      setOutcomes((all) => ({ ...all, [form]: { done: true } }));
      return true;
    } catch (caught) {
      const error = caught instanceof ApiError ? caught : new ApiError(0, "error", errorText(caught));
      if (error.status === 401) return false;
      const conflict = error.code === "version_conflict";
      if (conflict) await load();
      setOutcomes((all) => ({ ...all, [form]: { error, conflict } }));
      return false;
    } finally {
      setBusy(null);
    }
  };

  if (loadError) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          {id}
        </h1>
        <p class="error" role="alert">
          {loadError.status === 404 ? t("not_found") : loadError.message}
        </p>
      </section>
    );
  }
  if (!data) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          {id}
        </h1>
        <p class="muted" role="status">
          {t("loading")}
        </p>
      </section>
    );
  }
  const { ticket, messages, history } = data;
  const shared = { ticket, act, outcomes, busy };
  // Also said at the top: the reloaded ticket may no longer offer the form that failed.
  const conflicted = Object.values(outcomes).some((outcome) => outcome.conflict);
  return (
    <article class="ticket" aria-labelledby="page-title">
      <header class="ticket-head">
        <h1 id="page-title" tabIndex={-1}>
          <span class="ticket-id">{ticket.id}</span> {ticket.subject}
        </h1>
        <p class="ticket-meta">
          <span class={`status status-${ticket.status}`}>{term(ticket.status)}</span>{" "}
          <span class={`priority priority-${ticket.priority}`}>{term(ticket.priority)}</span>{" "}
          <span class="muted">
            {term(ticket.channel)} · {ticket.direction} · {t("version", { n: ticket.version })}
          </span>{" "}
          <Badges ticket={ticket} />
          {ticket.waiting_on_client && <span class="badge">{t("waiting_on_client")}</span>}
        </p>
        <button type="button" class="secondary" onClick={() => void load()}>
          {t("reload")}
        </button>
        {conflicted && (
          <p class="error conflict ticket-conflict" id="ticket-conflict" role="status">
            {t("conflict")}
          </p>
        )}
      </header>
      <div class="ticket-grid">
        <div class="ticket-main">
          {ticket.call && <CallPanel call={ticket.call} {...shared} />}
          <section aria-labelledby="conversation-title">
            <h2 id="conversation-title">{t("conversation")}</h2>
            {messages.length === 0 && <p class="muted">{t("no_messages")}</p>}
            <ol class="messages">
              {messages.map((message) => (
                <MessageItem message={message} ticketId={ticket.id} key={message.id} />
              ))}
            </ol>
          </section>
          {!WRITTEN.includes(ticket.channel) ? (
            <p class="notice">{t("no_reply_channel")}</p>
          ) : ["resolved", "closed"].includes(ticket.status) ? (
            <p class="notice">{t("reopen_to_reply")}</p>
          ) : (
            <>
              <ReplyForm {...shared} />
              {ticket.category === "complaint" && (
                <ComplaintReply ticket={ticket} busy={busy === "complaint"} send={(body) => act("complaint", "POST", "/replies", body)} />
              )}
            </>
          )}
          <CommentForm {...shared} />
        </div>
        <aside class="ticket-side">
          <Details ticket={ticket} />
          <Sla ticket={ticket} />
          <FieldsForm {...shared} />
          <AssignForm {...shared} />
          <StatusForms {...shared} />
        </aside>
      </div>
      <History entries={history} />
    </article>
  );
}

type Shared = { ticket: TicketT; act: Act; outcomes: Record<string, Outcome>; busy: string | null };

/** The outcome of one form: a 409 notice, the API's message, or "done", beside its button. */
function Outcome(props: { form: string; outcome?: Outcome; fieldsShown?: string[] }) {
  const { outcome, form } = props;
  if (!outcome) return null;
  if (outcome.conflict) {
    return (
      <p class="error form-error conflict" id={`${form}-error`} role="alert">
        {t("conflict")}
      </p>
    );
  }
  if (outcome.error) {
    const fields = Object.keys(outcome.error.fieldProblems());
    const shownByField = fields.length > 0 && fields.every((f) => props.fieldsShown?.includes(f));
    return shownByField ? null : <FormError id={`${form}-error`} error={outcome.error.message} />;
  }
  return outcome.done ? (
    <p class="ok small" role="status">
      {t("done")}
    </p>
  ) : null;
}

function problemsOf(outcome?: Outcome): Record<string, string> {
  return outcome?.error && !outcome.conflict ? outcome.error.fieldProblems() : {};
}

/** A mail attachment's name as a download: the API (bearer token) answers a short-lived S3
 * link, which the browser then opens without a token (Content-Disposition saves the file). */
function AttachmentName(props: { path: string; name: string }) {
  const [error, setError] = useState<string | null>(null);
  async function open() {
    setError(null);
    try {
      const link = await api<{ url: string }>("GET", props.path);
      const anchor = document.createElement("a");
      anchor.href = link.url;
      anchor.rel = "noopener";
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  return (
    <>
      <button type="button" class="link" onClick={open}>
        {props.name}
      </button>
      {error && <span class="error small"> {error}</span>}
    </>
  );
}

function MessageItem(props: { message: Message; ticketId: string }) {
  const { message } = props;
  const kind = t(`kind_${message.kind}` as Key);
  return (
    <li class={`message message-${message.kind}`}>
      <p class="message-head">
        <span class="message-kind">{kind}</span> <span class="message-author">{message.author}</span>{" "}
        <time class="muted small" dateTime={message.at}>
          {when(message.at)}
        </time>
        {message.delivery && (
          <span class={`badge delivery delivery-${message.delivery}`} data-delivery={message.delivery}>
            {t("delivery")}: {t(`delivery_${message.delivery}` as Key)}
          </span>
        )}
      </p>
      {message.email?.subject && (
        <p class="message-subject">
          {t("subject")}: <strong>{message.email.subject}</strong>
        </p>
      )}
      {message.email?.no_auto_reply && (
        <p class="muted small message-flag" data-flag="no_auto_reply">
          {t("no_auto_reply")}: {message.email.flagged || message.email.no_auto_reply}
        </p>
      )}
      <p class="message-text">{message.text}</p>
      {message.attachments.length > 0 && (
        <ul class="attachments">
          {message.attachments.map((attachment, index) => (
            <li key={index}>
              {t("attachment")}:{" "}
              {attachment.file_id?.startsWith("s3://") && !attachment.note ? (
                <AttachmentName
                  path={`/tickets/${props.ticketId}/messages/${message.id}/attachments/${index}`}
                  name={attachment.file_name || attachment.kind || "?"}
                />
              ) : (
                attachment.file_name || attachment.kind || "?"
              )}
              {attachment.caption ? ` — ${attachment.caption}` : ""}
              {attachment.size ? ` (${Math.max(1, Math.round(attachment.size / 1024))} KB)` : ""}
              {attachment.note ? ` — ${attachment.note}` : ""}
            </li>
          ))}
        </ul>
      )}
      {message.buttons.length > 0 && (
        <ul class="buttons" aria-label={t("buttons")}>
          {message.buttons.map((button, index) => (
            <li key={index}>{button.label}</li>
          ))}
        </ul>
      )}
      {message.delivery === "failed" && message.error && (
        <p class="error small delivery-error">{message.error}</p>
      )}
    </li>
  );
}

function Details(props: { ticket: TicketT }) {
  const { ticket } = props;
  const rows: [string, preact.ComponentChildren][] = [
    [t("customer"), <a href={customerHref(ticket.customer_id)}>{ticket.customer_name || ticket.customer_address || ticket.customer_id}</a>],
    [t("category"), term(ticket.category)],
    [t("topic"), ticket.topic || "—"],
    [t("difficulty"), ticket.difficulty ?? "—"],
    [t("assignee"), ticket.assignee || "—"],
    [t("created"), when(ticket.created_at)],
    [t("due"), <Due due={ticket.response_due} />],
  ];
  if (ticket.external_task_url) {
    rows.push([t("task"), <a href={ticket.external_task_url} rel="noreferrer noopener" target="_blank">{ticket.external_task_url}</a>]);
  }
  if (ticket.hold_reason) rows.push([t("hold_reason"), ticket.hold_reason]);
  if (ticket.resolution) rows.push([t("resolution_text"), ticket.resolution]);
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

function Sla(props: { ticket: TicketT }) {
  const clocks = Object.entries(props.ticket.sla ?? {});
  return (
    <section class="card" aria-labelledby="sla-title">
      <h2 id="sla-title">{t("sla")}</h2>
      {clocks.length === 0 && <p class="muted">{t("no_sla")}</p>}
      <ul class="sla">
        {clocks.map(([name, clock]) => (
          <li key={name} class={clock.breached_at ? "breached" : undefined} data-clock={name}>
            <strong>{t(`sla_${name}` as Key)}</strong>:{" "}
            {clock.met_at ? t("sla_met", { time: when(clock.met_at) }) : t(`sla_state_${clock.state}` as Key)}
            {clock.due && clock.state === "running" && <> · {t("sla_due", { time: when(clock.due) })}</>}
            {clock.warned_at && <> · {t("sla_warned", { time: when(clock.warned_at) })}</>}
            {clock.breached_at && (
              <span class="badge badge-breached">{t("sla_breached", { time: when(clock.breached_at) })}</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function ReplyForm(props: Shared) {
  const { ticket, act, outcomes, busy } = props;
  const [text, setText, clearText] = useDraft(`${ticket.id}.reply`, "");
  const [wait, setWait, clearWait] = useDraft(`${ticket.id}.reply.wait`, false);
  const [requestId, setRequestId] = useDraft(`${ticket.id}.reply.request`, crypto.randomUUID());
  const outcome = outcomes.reply;
  const problems = problemsOf(outcome);
  async function submit(event: Event) {
    event.preventDefault();
    // The same request_id until it is sent: a retry after a lost answer never sends twice.
    if (await act("reply", "POST", "/replies", { text, wait_for_client: wait, request_id: requestId })) {
      clearText();
      clearWait();
      setRequestId(crypto.randomUUID());
    }
  }
  return (
    <form class="card compose" onSubmit={submit} aria-labelledby="reply-title">
      <h2 id="reply-title">{t("reply")}</h2>
      <Field id="reply-text" label={t("reply_text")} error={problems.text} hint={t("ctrl_enter")}>
        <textarea
          {...described("reply-text", problems.text, t("ctrl_enter"))}
          name="text"
          rows={4}
          maxLength={4000}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={ctrlEnter}
        />
      </Field>
      <KnowledgePanel ticket={ticket} insert={(piece) => setText(text.trim() ? `${text.trimEnd()}\n${piece}` : piece)} />
      <div class="check">
        <input id="reply-wait" type="checkbox" checked={wait} onChange={(e) => setWait(e.currentTarget.checked)} />
        <label for="reply-wait">{t("wait_for_client")}</label>
      </div>
      <div class="actions">
        <button type="submit" disabled={busy === "reply"}>
          {t("send")}
        </button>
        <Outcome form="reply" outcome={outcome} fieldsShown={["text"]} />
      </div>
    </form>
  );
}

function CommentForm(props: Shared) {
  const { ticket, act, outcomes, busy } = props;
  const [text, setText, clearText] = useDraft(`${ticket.id}.comment`, "");
  const outcome = outcomes.comment;
  const problems = problemsOf(outcome);
  async function submit(event: Event) {
    event.preventDefault();
    if (await act("comment", "POST", "/comments", { text })) clearText();
  }
  return (
    <form class="card compose compose-comment" onSubmit={submit} aria-labelledby="comment-title">
      <h2 id="comment-title">{t("comment")}</h2>
      <Field id="comment-text" label={t("comment_text")} error={problems.text} hint={t("ctrl_enter")}>
        <textarea
          {...described("comment-text", problems.text, t("ctrl_enter"))}
          name="text"
          rows={2}
          maxLength={4000}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={ctrlEnter}
        />
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy === "comment"}>
          {t("add_comment")}
        </button>
        <Outcome form="comment" outcome={outcome} fieldsShown={["text"]} />
      </div>
    </form>
  );
}

function FieldsForm(props: Shared) {
  const { ticket, act, outcomes, busy } = props;
  // Only what the agent changed is kept as a draft; the rest shows the ticket as it is now.
  const [changed, setChanged, clearChanged] = useDraft<Record<string, string>>(`${ticket.id}.fields`, {});
  const shown = {
    category: changed.category ?? ticket.category ?? "",
    topic: changed.topic ?? ticket.topic ?? "",
    priority: changed.priority ?? ticket.priority,
    difficulty: changed.difficulty ?? (ticket.difficulty ? String(ticket.difficulty) : ""),
  };
  const outcome = outcomes.fields;
  const problems = problemsOf(outcome);
  async function submit(event: Event) {
    event.preventDefault();
    const body: Record<string, unknown> = {};
    if (shown.category && shown.category !== ticket.category) body.category = shown.category;
    if (shown.topic.trim() && shown.topic.trim() !== ticket.topic) body.topic = shown.topic.trim();
    if (shown.priority !== ticket.priority) body.priority = shown.priority;
    if (shown.difficulty && Number(shown.difficulty) !== ticket.difficulty) body.difficulty = Number(shown.difficulty);
    if (await act("fields", "PATCH", "", body)) clearChanged();
  }
  const set = (name: keyof typeof shown) => (e: Event) =>
    setChanged({ ...changed, [name]: (e.currentTarget as HTMLInputElement).value });
  return (
    <form class="card" onSubmit={submit} aria-labelledby="fields-title">
      <h2 id="fields-title">{t("fields")}</h2>
      <Field id="ticket-category" label={t("category")} error={problems.category}>
        <select {...described("ticket-category", problems.category)} value={shown.category} onChange={set("category")}>
          <Options values={CATEGORIES} blank={t("unchanged")} />
        </select>
      </Field>
      <Field id="ticket-topic" label={t("topic")} error={problems.topic}>
        <input {...described("ticket-topic", problems.topic)} maxLength={100} value={shown.topic} onInput={set("topic")} />
      </Field>
      <Field id="ticket-priority" label={t("priority")} error={problems.priority}>
        <select {...described("ticket-priority", problems.priority)} value={shown.priority} onChange={set("priority")}>
          <Options values={PRIORITIES} />
        </select>
      </Field>
      <Field id="ticket-difficulty" label={t("difficulty")} error={problems.difficulty}>
        <select {...described("ticket-difficulty", problems.difficulty)} value={shown.difficulty} onChange={set("difficulty")}>
          <option value="">{t("unchanged")}</option>
          <option value="1">{t("difficulty_1")}</option>
          <option value="2">{t("difficulty_2")}</option>
          <option value="3">{t("difficulty_3")}</option>
        </select>
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy === "fields"}>
          {t("save")}
        </button>
        <Outcome form="fields" outcome={outcome} fieldsShown={["category", "topic", "priority", "difficulty"]} />
      </div>
    </form>
  );
}

function AssignForm(props: Shared) {
  const { ticket, act, outcomes, busy } = props;
  const [typed, setAssignee, clear] = useDraft<string | null>(`${ticket.id}.assign`, null);
  const assignee = typed ?? ticket.assignee ?? "";
  const outcome = outcomes.assign;
  const problems = problemsOf(outcome);
  async function submit(event: Event) {
    event.preventDefault();
    if (await act("assign", "POST", "/assign", { assignee: assignee.trim() || null })) clear();
  }
  async function takeIt() {
    if (await act("assign", "POST", "/assign", { assignee: session()?.user ?? null })) clear();
  }
  return (
    <form class="card" onSubmit={submit} aria-labelledby="assign-title">
      <h2 id="assign-title">{t("assign")}</h2>
      <Field id="assign-to" label={t("assign_to")} error={problems.assignee}>
        <input {...described("assign-to", problems.assignee)} value={assignee} maxLength={128} onInput={(e) => setAssignee(e.currentTarget.value)} />
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy === "assign"}>
          {t("assign_save")}
        </button>
        <button type="button" class="secondary" disabled={busy === "assign"} onClick={() => void takeIt()}>
          {t("assign_to_me")}
        </button>
        <Outcome form="assign" outcome={outcome} fieldsShown={["assignee"]} />
      </div>
    </form>
  );
}

function StatusForms(props: Shared) {
  const { ticket, act, outcomes, busy } = props;
  const [task, setTask, clearTask] = useDraft(`${ticket.id}.hold.task`, "");
  const [reason, setReason, clearReason] = useDraft(`${ticket.id}.hold.reason`, "");
  const [resolution, setResolution, clearResolution] = useDraft(`${ticket.id}.resolution`, "");
  const [noArticle, setNoArticle] = useState(false);
  const [reopenReason, setReopenReason, clearReopen] = useDraft(`${ticket.id}.reopen`, "");
  const active = ["new", "open", "on_hold"].includes(ticket.status);
  const holdP = problemsOf(outcomes.hold);
  const resolveP = problemsOf(outcomes.resolve);
  const reopenP = problemsOf(outcomes.reopen);
  return (
    <>
      {["new", "open"].includes(ticket.status) && (
        <form
          class="card"
          aria-labelledby="hold-title"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await act("hold", "POST", "/hold", { task_url: task.trim(), reason: reason.trim() || null })) {
              clearTask();
              clearReason();
            }
          }}
        >
          <h2 id="hold-title">{t("hold")}</h2>
          <Field id="hold-task" label={t("task_url")} error={holdP.task_url}>
            <input {...described("hold-task", holdP.task_url)} type="text" inputMode="url" required value={task} onInput={(e) => setTask(e.currentTarget.value)} />
          </Field>
          <Field id="hold-reason" label={t("hold_reason")} error={holdP.reason}>
            <input {...described("hold-reason", holdP.reason)} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </Field>
          <div class="actions">
            <button type="submit" disabled={busy === "hold"}>
              {t("put_on_hold")}
            </button>
            <Outcome form="hold" outcome={outcomes.hold} fieldsShown={["task_url", "reason"]} />
          </div>
        </form>
      )}
      {active && (
        <form
          class="card"
          aria-labelledby="resolve-title"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await act("resolve", "POST", "/resolve", { resolution: resolution.trim() || null, no_article: noArticle })) clearResolution();
          }}
        >
          <h2 id="resolve-title">{t("resolve")}</h2>
          <Field id="resolve-text" label={t("resolution")} error={resolveP.resolution} hint={t("ctrl_enter")}>
            <textarea
              {...described("resolve-text", resolveP.resolution, t("ctrl_enter"))}
              rows={2}
              maxLength={2000}
              value={resolution}
              onInput={(e) => setResolution(e.currentTarget.value)}
              onKeyDown={ctrlEnter}
            />
          </Field>
          <div class="check">
            <input id="resolve-no-article" type="checkbox" checked={noArticle} onChange={(e) => setNoArticle(e.currentTarget.checked)} />
            <label for="resolve-no-article">{w("no_article")}</label>
          </div>
          <div class="actions">
            <button type="submit" disabled={busy === "resolve"}>
              {t("resolve")}
            </button>
            <Outcome form="resolve" outcome={outcomes.resolve} fieldsShown={["resolution"]} />
          </div>
        </form>
      )}
      {ticket.status !== "closed" && (
        <form
          class="card"
          aria-labelledby="close-title"
          onSubmit={async (e) => {
            e.preventDefault();
            await act("close", "POST", "/close", {});
          }}
        >
          <h2 id="close-title">{t("close")}</h2>
          <div class="actions">
            <button type="submit" class="secondary" disabled={busy === "close"}>
              {t("close_ticket")}
            </button>
            <Outcome form="close" outcome={outcomes.close} />
          </div>
        </form>
      )}
      {["on_hold", "resolved", "closed"].includes(ticket.status) && (
        <form
          class="card"
          aria-labelledby="reopen-title"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await act("reopen", "POST", "/reopen", { reason: reopenReason.trim() || null })) clearReopen();
          }}
        >
          <h2 id="reopen-title">{t("reopen")}</h2>
          <Field id="reopen-reason" label={t("reopen_reason")} error={reopenP.reason}>
            <input {...described("reopen-reason", reopenP.reason)} maxLength={1000} value={reopenReason} onInput={(e) => setReopenReason(e.currentTarget.value)} />
          </Field>
          <div class="actions">
            <button type="submit" disabled={busy === "reopen"}>
              {t("reopen")}
            </button>
            <Outcome form="reopen" outcome={outcomes.reopen} fieldsShown={["reason"]} />
          </div>
        </form>
      )}
    </>
  );
}

function CallPanel(props: Shared & { call: Call }) {
  const { call, ticket } = props;
  const recording = call.recording_url ?? "";
  const playable = /^https?:\/\//i.test(recording);
  const problem = ticket.flags.includes("problem_call");
  return (
    <section class="card call" aria-labelledby="call-title">
      <h2 id="call-title">{t("call")}</h2>
      <dl class="facts">
        <div>
          <dt>{t("client_number")}</dt>
          <dd>
            {call.from_number ?? "—"} → {call.to_number ?? "—"}
          </dd>
        </div>
        <div>
          <dt>{t("duration")}</dt>
          <dd class="call-duration">{seconds(call.duration_seconds)}</dd>
        </div>
        <div>
          <dt>{t("talk_time")}</dt>
          <dd>{seconds(call.talk_seconds)}</dd>
        </div>
        <div>
          <dt>{t("recording")}</dt>
          <dd>
            {playable ? (
              <>
                <audio controls preload="none" src={recording} aria-label={t("recording")} />
                <a href={recording} rel="noreferrer noopener" target="_blank" class="small">
                  {recording}
                </a>
              </>
            ) : (
              recording || t("no_recording")
            )}
          </dd>
        </div>
      </dl>
      {problem && (
        <p class="badge badge-breached">{t("problem_call", { limit: seconds(call.problem_threshold_seconds) })}</p>
      )}
      <h3>{t("call_timeline")}</h3>
      <ol class="timeline">
        {(call.timeline ?? []).map(([at, kind, detail], index) => (
          <li key={index}>
            <time dateTime={at}>{when(at)}</time> <strong>{kind}</strong> {detail}
          </li>
        ))}
      </ol>
      {ticket.call_review && (
        <p class="review">
          {t("reviewed", {
            verdict: t(`verdict_${ticket.call_review.verdict}` as Key),
            by: ticket.call_review.by,
            at: when(ticket.call_review.at),
          })}
          {ticket.call_review.note ? ` — ${ticket.call_review.note}` : ""}
        </p>
      )}
      {hasRole("lead") && <CallReviewForm {...props} />}
    </section>
  );
}

function CallReviewForm(props: Shared) {
  const { ticket, act, outcomes, busy } = props;
  const [chosen, setVerdict, clearVerdict] = useDraft<string | null>(`${ticket.id}.verdict`, null);
  const verdict = chosen ?? ticket.call_review?.verdict ?? "ok";
  const [note, setNote, clearNote] = useDraft(`${ticket.id}.verdict.note`, "");
  const problems = problemsOf(outcomes.review);
  return (
    <form
      class="review-form"
      aria-labelledby="review-title"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await act("review", "POST", "/call-review", { verdict, note: note.trim() || null })) {
          clearVerdict();
          clearNote();
        }
      }}
    >
      <h3 id="review-title">{t("call_review")}</h3>
      <Field id="review-verdict" label={t("verdict")} error={problems.verdict}>
        <select {...described("review-verdict", problems.verdict)} value={verdict} onChange={(e) => setVerdict(e.currentTarget.value)}>
          <option value="ok">{t("verdict_ok")}</option>
          <option value="coaching">{t("verdict_coaching")}</option>
          <option value="escalate">{t("verdict_escalate")}</option>
        </select>
      </Field>
      <Field id="review-note" label={t("note")} error={problems.note}>
        <textarea {...described("review-note", problems.note)} rows={2} maxLength={2000} value={note} onInput={(e) => setNote(e.currentTarget.value)} onKeyDown={ctrlEnter} />
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy === "review"}>
          {t("record_verdict")}
        </button>
        <Outcome form="review" outcome={outcomes.review} fieldsShown={["verdict", "note"]} />
      </div>
    </form>
  );
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function show(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "string") return ISO_TIME.test(value) ? when(value) : term(value);
  if (Array.isArray(value)) return value.map(show).join(", ") || "—";
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== null && item !== undefined)
      .map(([name, item]) => `${name}: ${show(item)}`)
      .join(", ");
  }
  return String(value);
}

function action(name: string): string {
  const key = `action_${name}` as Key;
  const text = t(key);
  return text === key ? name : text;
}

export function History(props: { entries: HistoryEntry[] }) {
  return (
    <section class="card history" aria-labelledby="history-title">
      <h2 id="history-title">{t("history")}</h2>
      <ol>
        {props.entries.map((entry) => (
          <li key={entry.id} data-action={entry.action}>
            <time class="muted small" dateTime={entry.at}>
              {when(entry.at)}
            </time>{" "}
            <strong>{entry.actor}</strong> <span class="action">{action(entry.action)}</span>
            {Object.entries(entry.changes).map(([name, [before, after]]) => (
              <span class="change" key={name}>
                {" "}
                {name}: {show(before)} → {show(after)}
              </span>
            ))}
            {entry.note && <span class="muted"> — {entry.note}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}
