// Knowledge at hand on the ticket page: suggested articles and canned replies beside the reply
// box (one click inserts a link or a text into the reply), and the four-part complaint reply.
// Its words are kept here, in both languages, so the knowledge base stays in one file.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { hasRole } from "../auth";
import { errorText, FormError } from "../components";
import { config } from "../config";
import { lang, useLang } from "../i18n";
import type { Ticket } from "../types";

const WORDS = {
  en: {
    knowledge: "Knowledge base",
    suggested: "Suggested articles",
    no_suggestions: "No article matches this conversation.",
    insert_link: "Insert link",
    canned: "Canned replies",
    no_canned: "No canned replies for this direction yet.",
    insert: "Insert",
    personal: "yours",
    complaint_title: "Complaint reply",
    complaint_hint: "A complaint is answered in this order; every part is needed.",
    thank: "Thank",
    why_it_matters: "Why it matters",
    apology: "Apologise",
    action: "What is being done",
    send_complaint: "Send the complaint reply",
    offer: "The client complained: add them to the group “{group}” so they are served first?",
    add_to_group: "Add to “{group}”",
    added: "Added.",
    no_article: "No article covered this",
  },
  ru: {
    knowledge: "База знаний",
    suggested: "Подходящие статьи",
    no_suggestions: "Нет статей по этому обращению.",
    insert_link: "Вставить ссылку",
    canned: "Шаблоны ответов",
    no_canned: "Для этого направления ещё нет шаблонов.",
    insert: "Вставить",
    personal: "ваш",
    complaint_title: "Ответ на жалобу",
    complaint_hint: "На жалобу отвечают в таком порядке; нужны все четыре части.",
    thank: "Благодарность",
    why_it_matters: "Почему это важно",
    apology: "Извинение",
    action: "Что делается",
    send_complaint: "Отправить ответ на жалобу",
    offer: "Клиент пожаловался: добавить его в группу «{group}», чтобы его обслуживали первым?",
    add_to_group: "Добавить в «{group}»",
    added: "Добавлен.",
    no_article: "Ни одна статья не помогла",
  },
};
type Word = keyof (typeof WORDS)["en"];

export function w(key: Word, values: Record<string, string> = {}): string {
  return WORDS[lang()][key].replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? "");
}

type Article = { slug: string; title: string; language: string; url: string };
type Canned = { id: string; title: string; text: string; owner: string | null };
type ComplaintForm = {
  order: string[];
  parts: Record<string, string>;
  offer_our_clients: { customer_id: string; group: string; offer: boolean };
};

export function absolute(url: string): string {
  return url.startsWith("/") ? (config().api_base || window.location.origin) + url : url;
}

/** Suggested articles and canned replies for the ticket; `insert` adds text to the reply. */
export function KnowledgePanel(props: { ticket: Ticket; insert: (text: string) => void }) {
  useLang();
  const { ticket, insert } = props;
  const [articles, setArticles] = useState<Article[] | null>(null);
  const [canned, setCanned] = useState<Canned[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = encodeURIComponent(ticket.id);
  useEffect(() => {
    let live = true;
    const fail = (caught: unknown) => live && setError(errorText(caught));
    api<{ articles: Article[] }>("GET", `/tickets/${id}/suggestions`)
      .then((found) => live && setArticles(found.articles))
      .catch(fail);
    api<{ replies: Canned[] }>("GET", `/kb/canned?ticket_id=${id}`)
      .then((found) => live && setCanned(found.replies))
      .catch(fail);
    return () => {
      live = false;
    };
  }, [id, ticket.version]);
  return (
    <section class="knowledge" aria-labelledby="knowledge-title">
      <h3 id="knowledge-title">{w("knowledge")}</h3>
      {error && <FormError id="knowledge-error" error={error} />}
      <h4>{w("suggested")}</h4>
      {articles?.length === 0 && <p class="muted small">{w("no_suggestions")}</p>}
      <ul class="suggestions">
        {(articles ?? []).map((article) => (
          <li key={article.slug}>
            <a href={absolute(article.url)} target="_blank" rel="noreferrer noopener">
              {article.title}
            </a>{" "}
            <button
              type="button"
              class="secondary small"
              aria-label={`${w("insert_link")}: ${article.title}`}
              onClick={() => insert(`${article.title}: ${absolute(article.url)}`)}
            >
              {w("insert_link")}
            </button>
          </li>
        ))}
      </ul>
      <h4>{w("canned")}</h4>
      {canned?.length === 0 && <p class="muted small">{w("no_canned")}</p>}
      <ul class="canned">
        {(canned ?? []).map((reply) => (
          <li key={reply.id}>
            <span>{reply.title}</span>
            {reply.owner && <span class="badge">{w("personal")}</span>}{" "}
            <button
              type="button"
              class="secondary small"
              aria-label={`${w("insert")}: ${reply.title}`}
              title={reply.text}
              onClick={() => insert(reply.text)}
            >
              {w("insert")}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

type Send = (body: Record<string, unknown>) => Promise<boolean>;

/** The four-part complaint reply, with the direction's wording to start from; for a lead,
 * the offer to put the client in the "our clients" group. */
export function ComplaintReply(props: { ticket: Ticket; send: Send; busy: boolean }) {
  useLang();
  const { ticket, send, busy } = props;
  const [form, setForm] = useState<ComplaintForm | null>(null);
  const [parts, setParts] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState(false);
  useEffect(() => {
    api<ComplaintForm>("GET", `/tickets/${encodeURIComponent(ticket.id)}/complaint-reply`)
      .then((found) => {
        setForm(found);
        setParts(found.parts);
      })
      .catch((caught) => setError(errorText(caught)));
  }, [ticket.id]);
  if (!form) return error ? <FormError id="complaint-error" error={error} /> : null;
  const offer = form.offer_our_clients;
  async function addToGroup() {
    try {
      const path = `/customers/${encodeURIComponent(offer.customer_id)}`;
      const { customer } = await api<{ customer: { version: number; groups: string[] } }>("GET", path);
      const groups = [...new Set([...customer.groups, offer.group])];
      await api("PATCH", path, { groups, version: customer.version });
      setAdded(true);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : errorText(caught));
    }
  }
  return (
    <form
      class="card compose complaint"
      aria-labelledby="complaint-title"
      onSubmit={async (event) => {
        event.preventDefault();
        await send({ complaint: parts });
      }}
    >
      <h2 id="complaint-title">{w("complaint_title")}</h2>
      <p class="muted small">{w("complaint_hint")}</p>
      {form.order.map((name, index) => (
        <div class="field" key={name}>
          <label for={`complaint-${name}`}>
            {index + 1}. {w(name as Word)}
          </label>
          <textarea
            id={`complaint-${name}`}
            rows={2}
            maxLength={1000}
            required
            value={parts[name] ?? ""}
            onInput={(e) => setParts({ ...parts, [name]: e.currentTarget.value })}
          />
        </div>
      ))}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {w("send_complaint")}
        </button>
      </div>
      {error && <FormError id="complaint-error" error={error} />}
      {offer.offer && hasRole("lead") && (
        <p class="notice">
          {w("offer", { group: offer.group })}{" "}
          {added ? (
            <span class="ok" role="status">
              {w("added")}
            </span>
          ) : (
            <button type="button" class="secondary" onClick={() => void addToGroup()}>
              {w("add_to_group", { group: offer.group })}
            </button>
          )}
        </p>
      )}
    </form>
  );
}
