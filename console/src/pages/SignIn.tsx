import { useState } from "preact/hooks";
import { afterSignIn, localSignIn, oidcSignIn, wasExpired } from "../auth";
import { described, errorText, Field, FormError } from "../components";
import { config } from "../config";
import { t } from "../i18n";

export function SignIn() {
  const local = config().auth === "local";
  const [user, setUser] = useState(() => sessionStorage.getItem("helpdesk.last_user") ?? "alice");
  const [role, setRole] = useState(() => sessionStorage.getItem("helpdesk.last_role") ?? "agent");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (local) {
        await localSignIn(role, user.trim());
        sessionStorage.setItem("helpdesk.last_user", user.trim());
        sessionStorage.setItem("helpdesk.last_role", role);
        afterSignIn();
      } else {
        await oidcSignIn();
      }
    } catch (caught) {
      setError({ field: (caught as { field?: string }).field, message: errorText(caught) });
    } finally {
      setBusy(false);
    }
  }

  const subError = error?.field === "sub" ? error.message : undefined;
  const roleError = error?.field === "role" ? error.message : undefined;
  const formError = error && !subError && !roleError ? error.message : undefined;
  return (
    <section class="signin card" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t("sign_in_title")}
      </h1>
      {wasExpired() && <p class="notice" role="status">{t("session_expired")}</p>}
      <p class="muted">{local ? t("sign_in_local_note") : t("sign_in_oidc_note")}</p>
      <form onSubmit={submit} noValidate>
        {local && (
          <>
            <Field id="signin-user" label={t("user_id")} error={subError}>
              <input
                {...described("signin-user", subError)}
                name="sub"
                value={user}
                required
                autoComplete="username"
                onInput={(e) => setUser(e.currentTarget.value)}
              />
            </Field>
            <Field id="signin-role" label={t("role")} error={roleError}>
              <select
                {...described("signin-role", roleError)}
                name="role"
                value={role}
                onChange={(e) => setRole(e.currentTarget.value)}
              >
                <option value="agent">{t("role_agent")}</option>
                <option value="lead">{t("role_lead")}</option>
                <option value="commander">{t("role_commander")}</option>
                <option value="finance">{t("role_finance")}</option>
              </select>
            </Field>
          </>
        )}
        <div class="actions">
          <button type="submit" disabled={busy} aria-describedby={formError ? "signin-error" : undefined}>
            {busy ? t("signing_in") : t("sign_in")}
          </button>
          <FormError id="signin-error" error={formError} />
        </div>
      </form>
    </section>
  );
}
