// The one client of the helpdesk JSON API. Every error becomes an ApiError carrying the
// API's own code, message and details ({"error": {"code", "message", ...}}); a 401 ends the
// session and sends the agent to sign in, and back to the same page afterwards.
import { config } from "./config";
import { session, sessionExpired } from "./auth";
import { t } from "./i18n";

export type Problem = { where: string; problem: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** Field-level problems of a 422, keyed by the field's name ("body.text" -> "text"). */
  fieldProblems(): Record<string, string> {
    const found: Record<string, string> = {};
    const problems = (this.details.problems as Problem[] | undefined) ?? [];
    for (const { where, problem } of problems) {
      const parts = where.split(".");
      const name = parts.length > 1 ? parts[1] : parts[0];
      found[name] = found[name] ? `${found[name]}; ${problem}` : problem;
    }
    const field = this.details.field;
    if (typeof field === "string" && !found[field]) found[field] = this.message;
    return found;
  }

  /** Field-level problems of a 422 keyed by their whole path ("body.text.ru" -> "text.ru"). */
  problemsByPath(): Record<string, string> {
    const found: Record<string, string> = {};
    const problems = (this.details.problems as Problem[] | undefined) ?? [];
    for (const { where, problem } of problems) {
      const path = where.replace(/^body\./, "");
      found[path] = found[path] ? `${found[path]}; ${problem}` : problem;
    }
    return found;
  }

  /** No answer, or a gateway's: the request may have been carried out all the same. */
  get outcomeUnknown(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

/** Counts calls, so the benchmark and the tests can see how many a refresh makes. */
export const counters = { calls: 0 };

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const current = session();
  const headers: Record<string, string> = { Accept: "application/json" };
  if (current) headers.Authorization = `Bearer ${current.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  counters.calls += 1;
  let response: Response;
  try {
    response = await fetch(`${config().api_base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", t("error_network"));
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.status === 401) {
    sessionExpired();
    throw new ApiError(401, "unauthorized", t("session_expired"));
  }
  if (!response.ok) {
    const error = (data as { error?: Record<string, unknown> } | null)?.error;
    if (error && typeof error.message === "string") {
      const { code, message, ...details } = error;
      throw new ApiError(response.status, String(code ?? "error"), message, details);
    }
    const message = (data as { message?: string } | null)?.message ?? response.statusText;
    throw new ApiError(response.status, "http_" + response.status, message || `HTTP ${response.status}`);
  }
  return data as T;
}

export function query(values: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** A CSV answer (a report's `format=csv`): its text, the file name the API gives it
 * (Content-Disposition) and the next page's cursor (X-Next-Cursor) of a paged export. Errors
 * as `api` throws them: the API's JSON error even when CSV was asked for. */
export async function apiCsv(path: string): Promise<{ text: string; filename: string | null; next: string | null }> {
  const current = session();
  const headers: Record<string, string> = { Accept: "text/csv" };
  if (current) headers.Authorization = `Bearer ${current.token}`;
  counters.calls += 1;
  let response: Response;
  try {
    response = await fetch(`${config().api_base}${path}`, { headers, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", t("error_network"));
  }
  const text = await response.text();
  if (response.status === 401) {
    sessionExpired();
    throw new ApiError(401, "unauthorized", t("session_expired"));
  }
  if (!response.ok) {
    let error: Record<string, unknown> | undefined;
    try {
      error = (JSON.parse(text) as { error?: Record<string, unknown> }).error;
    } catch {
      error = undefined;
    }
    const { code, message, ...details } = error ?? {};
    throw new ApiError(response.status, String(code ?? `http_${response.status}`), String(message ?? `HTTP ${response.status}`), details);
  }
  const disposition = response.headers.get("content-disposition") ?? "";
  return {
    text,
    filename: /filename="([^"]+)"/.exec(disposition)?.[1] ?? null,
    next: response.headers.get("x-next-cursor"),
  };
}
