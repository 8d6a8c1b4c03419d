import { render } from "preact";
import { useEffect } from "preact/hooks";
import { completeOidc, rememberReturn, session, signOut } from "./auth";
import { loadConfig } from "./config";
import { lang, setLang, t, useLang, type Lang } from "./i18n";
import { navigate, useRoute } from "./router";
import { Callbacks } from "./pages/Callbacks";
import { Customer } from "./pages/Customer";
import { Queue } from "./pages/Queue";
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
  if (!first || first === "queue") return <Queue route={route} />;
  if (first === "tickets" && second) return <Ticket id={second} key={second} />;
  if (first === "callbacks") return <Callbacks route={route} />;
  if (first === "customers" && second) return <Customer id={second} key={second} />;
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
  const section = route.path[0] ?? "queue";
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        {t("skip_to_main")}
      </a>
      <header class="top">
        <p class="brand">{t("app_title")}</p>
        {who && (
          <nav aria-label={t("app_title")}>
            <a href="#/queue" aria-current={section === "queue" ? "page" : undefined}>
              {t("nav_queue")}
            </a>
            <a href="#/callbacks" aria-current={section === "callbacks" ? "page" : undefined}>
              {t("nav_callbacks")}
            </a>
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
  if (!location.hash) history.replaceState(null, "", "#/queue");
  render(<App />, root);
}

void boot();
