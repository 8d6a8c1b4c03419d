// What the console needs to know about where it runs: config.json, served by the local stack
// (auth "local") or written next to index.html by the deploy (auth "oidc").
export type ConsoleConfig = {
  auth: "local" | "oidc";
  api_base: string; // "" when the API is on the same origin (CloudFront, the local stack)
  groups_claim: string;
  issuer?: string;
  client_id?: string;
  scope?: string;
  refresh_seconds: number;
};

let loaded: ConsoleConfig = {
  auth: "local",
  api_base: "",
  groups_claim: "cognito:groups",
  refresh_seconds: 5,
};

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch("/config.json", { cache: "no-store", credentials: "omit" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  loaded = { ...loaded, ...((await response.json()) as Partial<ConsoleConfig>) };
  return loaded;
}

export function config(): ConsoleConfig {
  return loaded;
}
