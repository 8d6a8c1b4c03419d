// Who is signed in. The token lives in memory and sessionStorage (gone when the tab closes),
// never in a cookie. Locally the stack issues development tokens (POST /_local/token);
// deployed, OpenID Connect authorization code with PKCE against the configured issuer.
import { config } from "./config";
import { navigate } from "./router";

/** `user` is the token's subject: the user id the API records and matches (`assignee=me`);
 * `name` is what the agent is shown (Cognito's username, else the subject). */
export type Session = { token: string; user: string; name: string; roles: string[]; expires_at: number };

const SESSION = "helpdesk.session";
const RETURN_TO = "helpdesk.return_to";
const EXPIRED = "helpdesk.expired";
const PKCE = "helpdesk.pkce";

let current: Session | null = read();

function read(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function session(): Session | null {
  if (current && current.expires_at * 1000 <= Date.now()) {
    sessionExpired();
    return null;
  }
  return current;
}

export function hasRole(role: string): boolean {
  return Boolean(current?.roles.includes(role));
}

/** Agents and leads work tickets (the tickets API's roles). */
export function isStaff(): boolean {
  return hasRole("agent") || hasRole("lead");
}

/** Leads and finance read the reports (the reporting API's roles). */
export function canReport(): boolean {
  return hasRole("lead") || hasRole("finance");
}

/** Where a user starts: the queue; for someone who is not staff, the incidents of a
 * commander, else the reports of finance. */
export function home(): string {
  if (isStaff()) return "#/queue";
  if (hasRole("commander")) return "#/incidents";
  return hasRole("finance") ? "#/reports" : "#/queue";
}

/** The claims of a JWT, unverified: only to show who is signed in and which forms to offer
 * (the API checks the token itself). */
function claims(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

function groups(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.filter((g): g is string => typeof g === "string");
  if (typeof raw === "string" && raw) return raw.replace(/^\[|\]$/g, "").split(/[ ,]+/).filter(Boolean);
  return [];
}

export function start(token: string): Session {
  const found = claims(token);
  const user = String(found.sub ?? "?");
  current = {
    token,
    user,
    name: String(found["cognito:username"] ?? found.username ?? user),
    roles: groups(found[config().groups_claim] ?? found.groups),
    expires_at: Number(found.exp ?? 0),
  };
  sessionStorage.setItem(SESSION, JSON.stringify(current));
  sessionStorage.removeItem(EXPIRED);
  return current;
}

export function signOut(): void {
  current = null;
  sessionStorage.removeItem(SESSION);
  navigate("#/signin");
}

/** A 401 (or a token past its expiry): forget it and ask for a new sign-in, coming back
 * to the same page afterwards. Drafts are kept (drafts.ts), so nothing typed is lost. */
export function sessionExpired(): void {
  const here = location.hash;
  current = null;
  sessionStorage.removeItem(SESSION);
  sessionStorage.setItem(EXPIRED, "1");
  if (!here.startsWith("#/signin")) sessionStorage.setItem(RETURN_TO, here || "#/queue");
  navigate("#/signin");
}

export function wasExpired(): boolean {
  return sessionStorage.getItem(EXPIRED) === "1";
}

export function rememberReturn(hash: string): void {
  if (hash && !hash.startsWith("#/signin")) sessionStorage.setItem(RETURN_TO, hash);
}

export function afterSignIn(): void {
  const back = sessionStorage.getItem(RETURN_TO) || home();
  sessionStorage.removeItem(RETURN_TO);
  navigate(back);
}

// -- local: the stack's development tokens ------------------------------------------------

export async function localSignIn(role: string, sub: string): Promise<void> {
  const response = await fetch(`${config().api_base}/_local/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ role, sub }),
    credentials: "omit",
  });
  const body = (await response.json().catch(() => ({}))) as {
    token?: string;
    error?: { message?: string; field?: string };
  };
  if (!response.ok || !body.token) {
    const error = new Error(body.error?.message ?? `HTTP ${response.status}`) as Error & {
      field?: string;
    };
    error.field = body.error?.field;
    throw error;
  }
  start(body.token);
}

// -- deployed: OpenID Connect, authorization code with PKCE ------------------------------

type Discovery = { authorization_endpoint: string; token_endpoint: string };

async function discover(): Promise<Discovery> {
  const issuer = (config().issuer ?? "").replace(/\/$/, "");
  const response = await fetch(`${issuer}/.well-known/openid-configuration`, { credentials: "omit" });
  if (!response.ok) throw new Error(`OpenID discovery failed: HTTP ${response.status}`);
  return (await response.json()) as Discovery;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri(): string {
  return `${location.origin}/`;
}

export async function oidcSignIn(): Promise<void> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const { authorization_endpoint } = await discover();
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config().client_id ?? "",
    redirect_uri: redirectUri(),
    scope: config().scope ?? "openid",
    state,
    code_challenge: base64url(digest),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

/** Back from the identity provider with ?code=&state=: trade the code for tokens. */
export async function completeOidc(): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (!code && !params.get("error")) return false;
  history.replaceState(null, "", `${location.pathname}${location.hash}`);
  const saved = JSON.parse(sessionStorage.getItem(PKCE) ?? "{}") as { verifier?: string; state?: string };
  sessionStorage.removeItem(PKCE);
  if (params.get("error")) throw new Error(params.get("error_description") ?? params.get("error") ?? "");
  if (!saved.verifier || saved.state !== params.get("state")) throw new Error("sign-in state mismatch");
  const { token_endpoint } = await discover();
  const response = await fetch(token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: code ?? "",
      redirect_uri: redirectUri(),
      client_id: config().client_id ?? "",
      code_verifier: saved.verifier,
    }),
    credentials: "omit",
  });
  if (!response.ok) throw new Error(`token endpoint: HTTP ${response.status}`);
  const tokens = (await response.json()) as { access_token?: string; id_token?: string };
  // The access token carries the groups claim and the client id the API's authorizer checks.
  start(tokens.access_token ?? tokens.id_token ?? "");
  return true;
}
