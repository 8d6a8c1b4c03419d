import { useEffect, useState } from "preact/hooks";
import { query } from "../api";
import { described, Due, Field, FormError, usePolled } from "../components";
import { t, when } from "../i18n";
import { customerHref, navigate, ticketHref, type Route } from "../router";
import type { Callback } from "../types";

export function Callbacks(props: { route: Route }) {
  const direction = props.route.params.get("direction") || localStorage.getItem("helpdesk.direction") || "d0";
  const [draft, setDraft] = useState(direction);
  const polled = usePolled<{ callbacks: Callback[] }>(`/callbacks${query({ direction })}`);
  const items = polled.data?.callbacks ?? null;
  const error = polled.error;

  useEffect(() => setDraft(direction), [direction]);

  const problem = error ? (error.fieldProblems().direction ?? error.message) : undefined;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t("callbacks_title")}
      </h1>
      <form
        class="filters card"
        onSubmit={(e) => {
          e.preventDefault();
          localStorage.setItem("helpdesk.direction", draft.trim());
          navigate(`#/callbacks${query({ direction: draft.trim() })}`);
        }}
      >
        <Field id="cb-direction" label={t("direction")} error={problem}>
          <input {...described("cb-direction", problem)} value={draft} required size={6} onInput={(e) => setDraft(e.currentTarget.value)} />
        </Field>
        <div class="actions">
          <button type="submit">{t("apply")}</button>
          <FormError id="cb-error" error={null} />
        </div>
      </form>
      {items === null && !error && <p class="muted" role="status">{t("loading")}</p>}
      {items && items.length === 0 && <p class="empty">{t("no_callbacks")}</p>}
      {items && items.length > 0 && (
        <table class="tickets callbacks">
          <caption class="visually-hidden">{t("callbacks_title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("ticket")}</th>
              <th scope="col">{t("client")}</th>
              <th scope="col">{t("missed_at")}</th>
              <th scope="col">{t("call_back_by")}</th>
              <th scope="col">{t("attempts")}</th>
              <th scope="col">{t("meant_for")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id}>
                <td data-label={t("ticket")}>
                  <a href={ticketHref(item.id)}>{item.id}</a>
                  {item.escalated && <span class="badge badge-breached">{t("escalated")}</span>}
                  {item.our_client && <span class="badge badge-our">{t("our_client")}</span>}
                </td>
                <td data-label={t("client")}>
                  <a href={customerHref(item.customer_id)}>{item.customer_name || item.client_number || item.customer_id}</a>
                  {item.client_number && <span class="muted small"> {item.client_number}</span>}
                </td>
                <td data-label={t("missed_at")}>{when(item.missed_at)}</td>
                <td data-label={t("call_back_by")}>
                  <Due due={item.call_back_by} />
                </td>
                <td data-label={t("attempts")}>{item.attempts}</td>
                <td data-label={t("meant_for")}>{item.meant_for || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
