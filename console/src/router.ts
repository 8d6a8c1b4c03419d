// Hash routes (#/queue, #/tickets/D0-000001): static hosting needs no rewrite rules.
import { useEffect, useState } from "preact/hooks";

export type Route = { path: string[]; params: URLSearchParams; hash: string };

export function parse(hash: string): Route {
  const [path, search = ""] = hash.replace(/^#/, "").split("?", 2);
  return {
    path: path.split("/").filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(search),
    hash,
  };
}

export function navigate(hash: string, replace = false): void {
  if (location.hash === hash) return;
  if (replace) {
    history.replaceState(null, "", hash);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    location.hash = hash;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const listener = () => setRoute(parse(location.hash));
    window.addEventListener("hashchange", listener);
    return () => window.removeEventListener("hashchange", listener);
  }, []);
  return route;
}

export function ticketHref(id: string): string {
  return `#/tickets/${encodeURIComponent(id)}`;
}

export function customerHref(id: string): string {
  return `#/customers/${encodeURIComponent(id)}`;
}

export function incidentHref(id: string): string {
  return `#/incidents/${encodeURIComponent(id)}`;
}
