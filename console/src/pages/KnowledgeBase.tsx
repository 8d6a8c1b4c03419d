// The knowledge base page (#/kb, its own chunk): a direction's articles and the search over the
// published ones; a new draft; an article to edit, its versions, and for a lead publish and
// unpublish. Its words are kept here, in both languages, as the ticket-side pieces keep theirs.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, query } from "../api";
import { hasRole } from "../auth";
import { described, errorText, Field, FormError, placeError, usePolled } from "../components";
import { lang, t, useLang, when } from "../i18n";
import { navigate, type Route } from "../router";
import { absolute } from "./Knowledge";
import "./KnowledgeBase.css";

const WORDS = {
  en: {
    title: "Knowledge base",
    new_article: "New article",
    status: "Status",
    all: "all",
    draft: "draft",
    published: "published",
    unpublished_changes: "unpublished changes",
    apply: "Show",
    search: "Search the published articles",
    search_button: "Search",
    search_hint: "Search finds published articles only (what clients and the ticket page see).",
    no_hits: "No published article matches.",
    no_articles: "No articles in this direction yet.",
    more: "Only the first {n} are shown.",
    slug: "Slug (the address)",
    slug_hint: "Lower-case Latin letters, digits and dashes: vhod-v-sistemu. It cannot be changed later.",
    article_title: "Title",
    body: "Text (Markdown)",
    tags: "Tags",
    tags_hint: "Separated by commas.",
    language: "Language",
    create: "Create the draft",
    created_hint: "A new article is a draft: clients see it once a lead publishes it.",
    updated: "Updated",
    by: "by",
    revision: "Revision",
    save: "Save",
    saved: "Saved as revision {n}.",
    nothing_changed: "Nothing has changed.",
    conflict: "Someone changed this article meanwhile (it is now at revision {n}). Reload it; your unsaved text is replaced.",
    reload: "Reload",
    publish: "Publish",
    publish_again: "Publish revision {n}",
    unpublish: "Unpublish",
    lead_publishes: "A lead publishes articles: ask one to publish this one when it is ready.",
    public_page: "Public page",
    draft_not_public: "Not published: clients cannot see it.",
    published_revision: "Published revision {n}, {at}, by {who}.",
    history: "Versions",
    author: "Author",
    at: "When",
    live: "published",
    back: "All articles",
    loading: "Loading…",
  },
  ru: {
    title: "База знаний",
    new_article: "Новая статья",
    status: "Статус",
    all: "все",
    draft: "черновик",
    published: "опубликована",
    unpublished_changes: "есть неопубликованные изменения",
    apply: "Показать",
    search: "Поиск по опубликованным статьям",
    search_button: "Найти",
    search_hint: "Поиск находит только опубликованные статьи (то, что видят клиенты и страница обращения).",
    no_hits: "Ни одна опубликованная статья не подходит.",
    no_articles: "В этом направлении пока нет статей.",
    more: "Показаны первые {n}.",
    slug: "Адрес (slug)",
    slug_hint: "Строчные латинские буквы, цифры и дефисы: vhod-v-sistemu. Потом его не изменить.",
    article_title: "Заголовок",
    body: "Текст (Markdown)",
    tags: "Теги",
    tags_hint: "Через запятую.",
    language: "Язык",
    create: "Создать черновик",
    created_hint: "Новая статья — черновик: клиенты увидят её, когда руководитель её опубликует.",
    updated: "Изменена",
    by: "кем",
    revision: "Версия",
    save: "Сохранить",
    saved: "Сохранено как версия {n}.",
    nothing_changed: "Ничего не изменилось.",
    conflict: "Кто-то уже изменил эту статью (теперь это версия {n}). Перезагрузите её; несохранённый текст будет заменён.",
    reload: "Перезагрузить",
    publish: "Опубликовать",
    publish_again: "Опубликовать версию {n}",
    unpublish: "Снять с публикации",
    lead_publishes: "Публикует статьи руководитель: когда статья готова, попросите его опубликовать её.",
    public_page: "Публичная страница",
    draft_not_public: "Не опубликована: клиенты её не видят.",
    published_revision: "Опубликована версия {n}, {at}, {who}.",
    history: "Версии",
    author: "Автор",
    at: "Когда",
    live: "опубликована",
    back: "Все статьи",
    loading: "Загружаем…",
  },
};
type Word = keyof (typeof WORDS)["en"];

function w(key: Word, values: Record<string, string | number> = {}): string {
  return WORDS[lang()][key].replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? ""));
}

type Language = "ru" | "en";
type Content = { title: string; body: string; tags: string[]; language: Language };
type Article = Content & {
  direction: string;
  slug: string;
  author: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
  revision: number;
  status: "draft" | "published";
  unpublished_changes: boolean;
  url: string;
  published: (Content & { revision: number; published_at: string; published_by: string }) | null;
};
type Version = Content & { revision: number; author: string; at: string };
type Hit = { slug: string; title: string; language: string; url: string };
const LIMIT = 100;
const FIELDS = ["direction", "slug", "title", "body", "tags", "language"];

function articleHref(direction: string, slug: string): string {
  return `#/kb/${encodeURIComponent(direction)}/${encodeURIComponent(slug)}`;
}

function articlePath(direction: string, slug: string): string {
  return `/kb/articles/${encodeURIComponent(direction)}/${encodeURIComponent(slug)}`;
}

function tagList(text: string): string[] {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

export function KnowledgeBase(props: { route: Route }) {
  useLang();
  const [, second, third] = props.route.path;
  const direction = props.route.params.get("direction") || localStorage.getItem("helpdesk.direction") || "d0";
  if (second === "new") return <NewArticle direction={direction} />;
  if (second && third) return <ArticlePage direction={second} slug={third} key={`${second}/${third}`} />;
  return <ArticleList route={props.route} direction={direction} />;
}

function StatusBadges(props: { article: Article }) {
  const { article } = props;
  return (
    <>
      <span class={`badge kb-${article.status}`}>{w(article.status)}</span>
      {article.unpublished_changes && <span class="badge badge-flag">{w("unpublished_changes")}</span>}
    </>
  );
}

/** A table of the console's kind (cards on a phone): a row is its key, then its cells. */
function Table(props: { class: string; caption: string; columns: Word[]; rows: [string, ...ComponentChildren[]][] }) {
  return (
    <table class={`tickets ${props.class}`}>
      <caption class="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          {props.columns.map((column) => (
            <th scope="col" key={column}>
              {w(column)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map(([key, ...cells]) => (
          <tr key={key}>
            {cells.map((cell, index) => (
              <td data-label={w(props.columns[index])} key={props.columns[index]}>
                {cell}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ArticleList(props: { route: Route; direction: string }) {
  const { direction } = props;
  const status = props.route.params.get("status") ?? "";
  const q = props.route.params.get("q") ?? "";
  const [chosen, setChosen] = useState({ direction, status });
  const [typed, setTyped] = useState(q);
  const polled = usePolled<{ articles: Article[]; next_cursor: string | null }>(
    `/kb/articles${query({ direction, status, limit: LIMIT })}`,
  );
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [searchError, setSearchError] = useState<string | null>(null);
  useEffect(() => setChosen({ direction, status }), [direction, status]);
  useEffect(() => {
    setHits(null);
    setSearchError(null);
    if (!q) return;
    let live = true;
    api<{ articles: Hit[] }>("GET", `/kb/search${query({ direction, q, limit: 20 })}`)
      .then((found) => live && setHits(found.articles))
      .catch((caught) => live && setSearchError(errorText(caught)));
    return () => {
      live = false;
    };
  }, [direction, q]);

  const go = (values: Record<string, string>) => navigate(`#/kb${query({ direction, status, q, ...values })}`);
  const error = polled.error;
  const problem = error ? (error.fieldProblems().direction ?? error.message) : undefined;
  const articles = polled.data?.articles ?? null;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {w("title")}
      </h1>
      <form
        class="filters card"
        onSubmit={(e) => {
          e.preventDefault();
          localStorage.setItem("helpdesk.direction", chosen.direction.trim());
          go({ direction: chosen.direction.trim(), status: chosen.status });
        }}
      >
        <Field id="kb-direction" label={t("direction")} error={problem}>
          <input
            {...described("kb-direction", problem)}
            value={chosen.direction}
            required
            size={6}
            onInput={(e) => setChosen({ ...chosen, direction: e.currentTarget.value })}
          />
        </Field>
        <Field id="kb-status" label={w("status")}>
          <select id="kb-status" value={chosen.status} onChange={(e) => setChosen({ ...chosen, status: e.currentTarget.value })}>
            <option value="">{w("all")}</option>
            <option value="draft">{w("draft")}</option>
            <option value="published">{w("published")}</option>
          </select>
        </Field>
        <div class="actions">
          <button type="submit">{w("apply")}</button>
          <a href={`#/kb/new${query({ direction })}`}>{w("new_article")}</a>
        </div>
      </form>
      <form
        class="filters card"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: typed.trim() });
        }}
      >
        <Field id="kb-q" label={w("search")} hint={w("search_hint")} error={searchError ?? undefined}>
          <input
            {...described("kb-q", searchError ?? undefined, w("search_hint"))}
            type="search"
            value={typed}
            maxLength={1000}
            onInput={(e) => setTyped(e.currentTarget.value)}
          />
        </Field>
        <div class="actions">
          <button type="submit">{w("search_button")}</button>
        </div>
      </form>
      {hits && (
        <section class="card" aria-labelledby="kb-hits-title">
          <h2 id="kb-hits-title">
            {w("search")}: «{q}»
          </h2>
          {hits.length === 0 && <p class="empty">{w("no_hits")}</p>}
          <ul class="kb-hits">
            {hits.map((hit) => (
              <li key={hit.slug}>
                <a href={articleHref(direction, hit.slug)}>{hit.title}</a> <span class="muted small">{hit.slug}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {articles === null && !error && (
        <p class="muted" role="status">
          {w("loading")}
        </p>
      )}
      {articles && articles.length === 0 && <p class="empty">{w("no_articles")}</p>}
      {articles && articles.length > 0 && (
        <Table
          class="kb-articles"
          caption={w("title")}
          columns={["article_title", "slug", "status", "updated"]}
          rows={articles.map((article) => [
            article.slug,
            <>
              <a href={articleHref(article.direction, article.slug)}>{article.title}</a>
              <span class="muted small"> {article.language}</span>
            </>,
            article.slug,
            <StatusBadges article={article} />,
            <>
              {when(article.updated_at)} <span class="muted small">{article.updated_by}</span>
            </>,
          ])}
        />
      )}
      {polled.data?.next_cursor && <p class="muted small">{w("more", { n: LIMIT })}</p>}
    </section>
  );
}

/** Title, text, tags and language: the part of an article that has versions. */
function ContentFields(props: {
  prefix: string;
  value: { title: string; body: string; tags: string; language: Language };
  onChange: (value: { title: string; body: string; tags: string; language: Language }) => void;
  errors: Record<string, string | undefined>;
}) {
  const { prefix, value, onChange, errors } = props;
  const id = (name: string) => `${prefix}-${name}`;
  return (
    <>
      <Field id={id("title")} label={w("article_title")} error={errors.title}>
        <input
          {...described(id("title"), errors.title)}
          value={value.title}
          required
          maxLength={200}
          onInput={(e) => onChange({ ...value, title: e.currentTarget.value })}
        />
      </Field>
      <Field id={id("body")} label={w("body")} error={errors.body}>
        <textarea
          {...described(id("body"), errors.body)}
          rows={14}
          value={value.body}
          required
          maxLength={100_000}
          onInput={(e) => onChange({ ...value, body: e.currentTarget.value })}
        />
      </Field>
      <Field id={id("tags")} label={w("tags")} hint={w("tags_hint")} error={errors.tags}>
        <input
          {...described(id("tags"), errors.tags, w("tags_hint"))}
          value={value.tags}
          onInput={(e) => onChange({ ...value, tags: e.currentTarget.value })}
        />
      </Field>
      <Field id={id("language")} label={w("language")} error={errors.language}>
        <select
          {...described(id("language"), errors.language)}
          value={value.language}
          onChange={(e) => onChange({ ...value, language: e.currentTarget.value as Language })}
        >
          <option value="ru">Русский</option>
          <option value="en">English</option>
        </select>
      </Field>
    </>
  );
}

function fieldsOf(error: ApiError | null) {
  return placeError(error, Object.fromEntries(FIELDS.map((name) => [name, [name]])));
}

/** One request at a time from a form: `busy` while it runs, the API's refusal kept in `error`. */
function useAction() {
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, "error", errorText(caught)));
    } finally {
      setBusy(false);
    }
  }
  return { error, setError, busy, run };
}

/** The way back to the list, and the page's title. */
function Heading(props: { direction: string; children: ComponentChildren }) {
  return (
    <>
      <p>
        <a href={`#/kb${query({ direction: props.direction })}`}>← {w("back")}</a>
      </p>
      <h1 id="page-title" tabIndex={-1}>
        {props.children}
      </h1>
    </>
  );
}

function NewArticle(props: { direction: string }) {
  const [direction, setDirection] = useState(props.direction);
  const [slug, setSlug] = useState("");
  const [content, setContent] = useState({ title: "", body: "", tags: "", language: lang() as Language });
  const { error, busy, run } = useAction();
  const placed = fieldsOf(error);
  async function create(event: Event) {
    event.preventDefault();
    await run(async () => {
      const body = { direction: direction.trim(), slug: slug.trim(), ...content, tags: tagList(content.tags) };
      const created = await api<Article>("POST", "/kb/articles", body);
      navigate(articleHref(created.direction, created.slug));
    });
  }
  return (
    <section aria-labelledby="page-title">
      <Heading direction={direction}>{w("new_article")}</Heading>
      <form class="card kb-form" onSubmit={create}>
        <p class="muted small">{w("created_hint")}</p>
        <Field id="kb-new-direction" label={t("direction")} error={placed.field.direction}>
          <input
            {...described("kb-new-direction", placed.field.direction)}
            value={direction}
            required
            size={6}
            onInput={(e) => setDirection(e.currentTarget.value)}
          />
        </Field>
        <Field id="kb-new-slug" label={w("slug")} hint={w("slug_hint")} error={placed.field.slug}>
          <input
            {...described("kb-new-slug", placed.field.slug, w("slug_hint"))}
            value={slug}
            required
            onInput={(e) => setSlug(e.currentTarget.value)}
          />
        </Field>
        <ContentFields prefix="kb-new" value={content} onChange={setContent} errors={placed.field} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            {w("create")}
          </button>
          <FormError id="kb-new-error" error={placed.form} />
        </div>
      </form>
    </section>
  );
}

function editable(article: Article) {
  return { title: article.title, body: article.body, tags: article.tags.join(", "), language: article.language };
}

function ArticlePage(props: { direction: string; slug: string }) {
  const { direction, slug } = props;
  const path = articlePath(direction, slug);
  const [article, setArticle] = useState<Article | null>(null);
  const [versions, setVersions] = useState<Version[]>([]);
  const [content, setContent] = useState({ title: "", body: "", tags: "", language: "ru" as Language });
  const [loadError, setLoadError] = useState<string | null>(null);
  const { error, setError, busy, run } = useAction();
  const [done, setDone] = useState<string | null>(null);

  async function load() {
    try {
      const found = await api<Article & { versions: Version[] }>("GET", path);
      const { versions: listed, ...rest } = found;
      setArticle(rest);
      setVersions([...listed].sort((a, b) => b.revision - a.revision));
      setContent(editable(rest));
      setError(null);
      setLoadError(null);
    } catch (caught) {
      setLoadError(errorText(caught));
    }
  }
  useEffect(() => {
    void load();
  }, [path]);

  async function act(change: () => Promise<Article>) {
    setDone(null);
    await run(async () => {
      setArticle(await change());
      const fresh = await api<{ versions: Version[] }>("GET", path);
      setVersions([...fresh.versions].sort((a, b) => b.revision - a.revision));
    });
  }

  if (!article) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          {w("title")}: {slug}
        </h1>
        {loadError ? <FormError id="kb-load-error" error={loadError} /> : <p class="muted" role="status">{w("loading")}</p>}
      </section>
    );
  }

  async function save(event: Event) {
    event.preventDefault();
    const current = article as Article;
    const before = editable(current);
    const changes: Record<string, unknown> = {};
    if (content.title !== before.title) changes.title = content.title;
    if (content.body !== before.body) changes.body = content.body;
    if (tagList(content.tags).join(",") !== current.tags.join(",")) changes.tags = tagList(content.tags);
    if (content.language !== before.language) changes.language = content.language;
    if (Object.keys(changes).length === 0) {
      setDone(w("nothing_changed"));
      return;
    }
    await act(async () => {
      const saved = await api<Article>("PATCH", path, { ...changes, version: current.revision });
      setContent(editable(saved));
      setDone(w("saved", { n: saved.revision }));
      return saved;
    });
  }

  const publishing = (publish: boolean) =>
    act(() => api<Article>("POST", `${path}/${publish ? "publish" : "unpublish"}`, { version: article.revision }));
  const conflict = error?.status === 409 && error.code === "version_conflict";
  const placed = conflict ? { field: {} } : fieldsOf(error);
  const current = Number(error?.details.current_version ?? article.revision);
  const lead = hasRole("lead");
  return (
    <section aria-labelledby="page-title">
      <Heading direction={direction}>{article.title}</Heading>
      <p class="kb-meta" id="kb-status">
        <StatusBadges article={article} /> <span class="muted small">{direction}/{slug}</span>{" "}
        <span class="muted small">
          {w("revision")} {article.revision} · {w("updated")} {when(article.updated_at)} · {article.updated_by}
        </span>
      </p>
      <div class="card kb-publishing">
        {article.published ? (
          <p>
            {w("published_revision", {
              n: article.published.revision,
              at: when(article.published.published_at),
              who: article.published.published_by,
            })}{" "}
            <a href={absolute(article.url)} target="_blank" rel="noreferrer noopener">
              {w("public_page")}
            </a>
          </p>
        ) : (
          <p class="muted">{w("draft_not_public")}</p>
        )}
        {lead ? (
          <div class="actions">
            {(!article.published || article.unpublished_changes) && (
              <button type="button" disabled={busy} onClick={() => void publishing(true)}>
                {article.published ? w("publish_again", { n: article.revision }) : w("publish")}
              </button>
            )}
            {article.published && (
              <button type="button" class="secondary" disabled={busy} onClick={() => void publishing(false)}>
                {w("unpublish")}
              </button>
            )}
          </div>
        ) : (
          <p class="notice" id="kb-lead-publishes">
            {w("lead_publishes")}
          </p>
        )}
      </div>
      {conflict && (
        <p class="conflict" role="alert" id="kb-conflict">
          {w("conflict", { n: current })}{" "}
          <button type="button" class="secondary" onClick={() => void load()}>
            {w("reload")}
          </button>
        </p>
      )}
      <form class="card kb-form" onSubmit={save}>
        <ContentFields prefix="kb-edit" value={content} onChange={setContent} errors={placed.field} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            {w("save")}
          </button>
          {done && (
            <span class="ok" role="status">
              {done}
            </span>
          )}
          <FormError id="kb-edit-error" error={placed.form} />
        </div>
      </form>
      <section class="card" aria-labelledby="kb-history-title">
        <h2 id="kb-history-title">{w("history")}</h2>
        <Table
          class="kb-versions"
          caption={w("history")}
          columns={["revision", "article_title", "author", "at"]}
          rows={versions.map((version) => [
            String(version.revision),
            <>
              {version.revision}
              {article.published?.revision === version.revision && <span class="badge kb-published">{w("live")}</span>}
            </>,
            version.title,
            version.author,
            when(version.at),
          ])}
        />
      </section>
    </section>
  );
}
