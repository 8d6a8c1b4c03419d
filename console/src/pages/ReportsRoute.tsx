// #/reports in the main bundle: who may read reports is decided here, and only then is the
// reports page (with its charting library) fetched, so the queue's cold load never carries it.
import { canReport, home, session } from "../auth";
import { t } from "../i18n";
import type { Route } from "../router";
import { lazyPage } from "./lazy";

const LazyReports = lazyPage(
  () => import("./Reports").then((module) => module.Reports),
  () => t("reports_title"),
  () => t("reports_loading"),
);

export function ReportsRoute(props: { route: Route }) {
  if (!canReport()) return <ReportsNotYours />;
  return <LazyReports route={props.route} />;
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
