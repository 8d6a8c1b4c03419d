// #/reports in the main bundle: who may read reports is decided here, and only then is the
// reports page (with its charting library) fetched, so the queue's cold load never carries it.
import type { FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { canReport, home, session } from "../auth";
import { errorText } from "../components";
import { t } from "../i18n";
import type { Route } from "../router";

type Page = FunctionComponent<{ route: Route }>;
let loaded: Page | null = null;

export function ReportsRoute(props: { route: Route }) {
  if (!canReport()) return <ReportsNotYours />;
  return <LazyReports route={props.route} />;
}

function LazyReports(props: { route: Route }) {
  const [page, setPage] = useState<{ component: Page } | null>(loaded ? { component: loaded } : null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (page) return;
    import("./Reports")
      .then((module) => {
        loaded = module.Reports;
        setPage({ component: module.Reports });
      })
      .catch((caught: unknown) => setError(errorText(caught)));
  }, []);
  if (page) {
    const Reports = page.component;
    return <Reports route={props.route} />;
  }
  return (
    <section aria-labelledby="page-title" aria-busy="true">
      <h1 id="page-title" tabIndex={-1}>
        {t("reports_title")}
      </h1>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : (
        <p class="muted" role="status">
          {t("reports_loading")}
        </p>
      )}
    </section>
  );
}

/** Anyone but a lead or finance: told plainly, nothing asked of the API (it would say 403). */
function ReportsNotYours() {
  const who = session();
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t("reports_title")}
      </h1>
      <p class="notice" id="reports-only" role="alert">
        {t("reports_only", { user: who?.name ?? who?.user ?? "?", roles: who?.roles.join(", ") || "—" })}
      </p>
      <p>
        <a href={home()}>{t("reports_back")}</a>
      </p>
    </section>
  );
}
