// A page in its own chunk: fetched the first time its route is opened (and kept), so the
// queue's cold load never carries it. Until it comes, the page's title and a waiting line.
import type { FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { errorText } from "../components";
import type { Route } from "../router";

export type Page = FunctionComponent<{ route: Route }>;

export function lazyPage(load: () => Promise<Page>, title: () => string, waiting: () => string): Page {
  let loaded: Page | null = null;
  return function LazyPage(props: { route: Route }) {
    const [page, setPage] = useState<{ component: Page } | null>(loaded ? { component: loaded } : null);
    const [error, setError] = useState<string | null>(null);
    useEffect(() => {
      if (page) return;
      load()
        .then((component) => {
          loaded = component;
          setPage({ component });
        })
        .catch((caught: unknown) => setError(errorText(caught)));
    }, []);
    if (page) {
      const Loaded = page.component;
      return <Loaded route={props.route} />;
    }
    return (
      <section aria-labelledby="page-title" aria-busy="true">
        <h1 id="page-title" tabIndex={-1}>
          {title()}
        </h1>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : (
          <p class="muted" role="status">
            {waiting()}
          </p>
        )}
      </section>
    );
  };
}
