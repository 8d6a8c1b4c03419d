import { render } from "preact";
import { useEffect } from "preact/hooks";
import { canReport, completeOidc, hasRole, home, isStaff, rememberReturn, session, signOut } from "./auth";
import { loadConfig } from "./config";
import { lang, setLang, t, useLang, type Lang } from "./i18n";
import { navigate, useRoute } from "./router";
import { Callbacks } from "./pages/Callbacks";
import { Customer } from "./pages/Customer";
import { Incident } from "./pages/Incident";
import { Incidents } from "./pages/Incidents";
import { KnowledgeBaseRoute } from "./pages/KnowledgeBaseRoute";
import { Queue } from "./pages/Queue";
import { ReportsRoute } from "./pages/ReportsRoute";
import { SignIn } from "./pages/SignIn";
import { Ticket } from "./pages/Ticket";
import "./styles.css";

function Page() {
  const route = useRoute();
  const [first, second] = route.path;
  const signedIn = session();
  useEffect(() => {
    if (!signedIn && first !== "signin") {
      rememberReturn(route.hash);
      navigate("#/signin", true);
    }
  }, [signedIn, first]);
  // A new page: focus its title, so a keyboard or screen reader user starts there.
  useEffect(() => {
    (document.getElementById("page-title") as HTMLElement | null)?.focus({ preventScroll: true });
  }, [route.path.join("/")]);

  if (first === "signin" || !signedIn) return <SignIn />;
  if (!first && home() === "#/incidents") return <Incidents />;
  if (!first && home() === "#/reports") return <ReportsRoute route={route} />;
  if (!first) return <Queue route={route} />;
  if (first === "queue") return <Queue route={route} />;
  if (first === "tickets" && second) return <Ticket id={second} key={second} />;
  if (first === "callbacks") return <Callbacks route={route} />;
  if (first === "customers" && second) return <Customer id={second} key={second} />;
  if (first === "incidents" && second) return <Incident id={second} key={second} />;
  if (first === "incidents") return <Incidents />;
  if (first === "reports") return <ReportsRoute route={route} />;
  if (first === "kb") return <KnowledgeBaseRoute route={route} />;
  return (
    <section>
      <h1 id="page-title" tabIndex={-1}>
        {t("page_not_found")}
      </h1>
    </section>
  );
}

function App() {
  const current = useLang();
  const route = useRoute();
  const who = session();
  const section = route.path[0] ?? home().slice(2);
  // Agents and leads work tickets; commanders run incidents; leads and finance read reports
  // (someone may be several).
  const tickets = Boolean(who) && (isStaff() || !(hasRole("commander") || hasRole("finance")));
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        {t("skip_to_main")}
      </a>
      <header class="top">
        <p class="brand">{t("app_title")}</p>
        {who && (
          <nav aria-label={t("app_title")}>
            {tickets && (
              <>
                <a href="#/queue" aria-current={section === "queue" ? "page" : undefined}>
                  {t("nav_queue")}
                </a>
                <a href="#/callbacks" aria-current={section === "callbacks" ? "page" : undefined}>
                  {t("nav_callbacks")}
                </a>
                <a href="#/kb" aria-current={section === "kb" ? "page" : undefined}>
                  {t("nav_kb")}
                </a>
              </>
            )}
            {hasRole("commander") && (
              <a href="#/incidents" aria-current={section === "incidents" ? "page" : undefined}>
                {t("nav_incidents")}
              </a>
            )}
            {canReport() && (
              <a href="#/reports" aria-current={section === "reports" ? "page" : undefined}>
                {t("nav_reports")}
              </a>
            )}
          </nav>
        )}
        <div class="top-right">
          <div class="lang" role="group" aria-label={t("language")}>
            {(["ru", "en"] as Lang[]).map((code) => (
              <button
                type="button"
                class="link"
                key={code}
                lang={code}
                aria-pressed={current === code}
                onClick={() => setLang(code)}
              >
                {code === "ru" ? "Русский" : "English"}
              </button>
            ))}
          </div>
          {who && (
            <>
              <span class="who muted small">{t("signed_in_as", { user: who.name ?? who.user, roles: who.roles.join(", ") })}</span>
              <button type="button" class="link" onClick={signOut}>
                {t("sign_out")}
              </button>
            </>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page />
      </main>
    </>
  );
}

async function boot() {
  document.documentElement.lang = lang();
  const root = document.getElementById("app") as HTMLElement;
  try {
    const loaded = await loadConfig();
    if (loaded.auth === "oidc") await completeOidc();
  } catch (error) {
    root.textContent = String(error);
    return;
  }
  // Signed in: the user's start page. Not yet: sign in first, then home() (auth.ts).
  if (!location.hash && session()) history.replaceState(null, "", home());
  render(<App />, root);
}

void boot();
