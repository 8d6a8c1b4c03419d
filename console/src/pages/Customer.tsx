import { useCallback, useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { hasRole } from "../auth";
import { described, Field, FormError, TicketTable } from "../components";
import { useDraft } from "../drafts";
import { t, when } from "../i18n";
import type { CustomerView } from "../types";
import { History } from "./Ticket";

export function Customer(props: { id: string }) {
  const { id } = props;
  const [data, setData] = useState<CustomerView | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const load = useCallback(async () => {
    try {
      setData(await api<CustomerView>("GET", `/customers/${encodeURIComponent(id)}`));
      setLoadError(null);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status !== 401) setLoadError(caught);
    }
  }, [id]);
  useEffect(() => {
    setData(null);
    void load();
  }, [load]);

  if (loadError || !data) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          {t("customer_title")}
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
      </section>
    );
  }
  const { customer } = data;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {customer.name || customer.phone || customer.id}
      </h1>
      <div class="ticket-grid">
        <div class="ticket-main">
          <section class="card" aria-labelledby="tickets-title">
            <h2 id="tickets-title">{t("tickets")}</h2>
            <TicketTable tickets={data.tickets} caption={t("tickets")} />
          </section>
        </div>
        <aside class="ticket-side">
          <section class="card" aria-labelledby="customer-title">
            <h2 id="customer-title">{t("customer_title")}</h2>
            <dl class="facts">
              <div>
                <dt>{t("name")}</dt>
                <dd>{customer.name || "—"}</dd>
              </div>
              <div>
                <dt>{t("phone")}</dt>
                <dd>{customer.phone || "—"}</dd>
              </div>
              <div>
                <dt>{t("groups")}</dt>
                <dd class="groups">{customer.groups.join(", ") || "—"}</dd>
              </div>
              <div>
                <dt>{t("identities")}</dt>
                <dd>{customer.identities.join(", ") || "—"}</dd>
              </div>
              <div>
                <dt>{t("created")}</dt>
                <dd>{when(customer.created_at)}</dd>
              </div>
            </dl>
          </section>
          {hasRole("lead") && <CustomerForm data={data} reload={load} />}
        </aside>
      </div>
      <History entries={data.history} />
    </section>
  );
}

function CustomerForm(props: { data: CustomerView; reload: () => Promise<void> }) {
  const { customer } = props.data;
  const [name, setName, clearName] = useDraft<string | null>(`customer.${customer.id}.name`, null);
  const [groups, setGroups, clearGroups] = useDraft<string | null>(`customer.${customer.id}.groups`, null);
  const [error, setError] = useState<ApiError | null>(null);
  const [conflict, setConflict] = useState(false);
  const [busy, setBusy] = useState(false);
  const shownName = name ?? customer.name ?? "";
  const shownGroups = groups ?? customer.groups.join(", ");

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setConflict(false);
    try {
      await api("PATCH", `/customers/${encodeURIComponent(customer.id)}`, {
        name: shownName.trim() || null,
        groups: shownGroups.split(/[\s,]+/).filter(Boolean),
        version: customer.version,
      });
      clearName();
      clearGroups();
      await props.reload();
    } catch (caught) {
      if (!(caught instanceof ApiError) || caught.status === 401) return;
      if (caught.code === "version_conflict") {
        setConflict(true);
        await props.reload();
      } else {
        setError(caught);
      }
    } finally {
      setBusy(false);
    }
  }
  const problems = error?.fieldProblems() ?? {};
  const formError = conflict ? t("conflict") : error && !problems.name && !problems.groups ? error.message : undefined;
  return (
    <form class="card" onSubmit={submit} aria-label={t("customer_title")}>
      <Field id="customer-name" label={t("name")} error={problems.name}>
        <input {...described("customer-name", problems.name)} maxLength={200} value={shownName} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field id="customer-groups" label={t("groups")} error={problems.groups} hint={t("groups_hint")}>
        <input
          {...described("customer-groups", problems.groups, t("groups_hint"))}
          value={shownGroups}
          onInput={(e) => setGroups(e.currentTarget.value)}
        />
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {t("save")}
        </button>
        <FormError id="customer-error" error={formError} />
      </div>
    </form>
  );
}
