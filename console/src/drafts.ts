// What the agent types survives an error, a reload of the ticket, a 409 and a new sign-in:
// each draft is kept in sessionStorage under its own key until it is sent.
import { useCallback, useState } from "preact/hooks";

const PREFIX = "helpdesk.draft.";

export function useDraft<T>(key: string, initial: T): [T, (value: T) => void, () => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const saved = sessionStorage.getItem(PREFIX + key);
      return saved === null ? initial : (JSON.parse(saved) as T);
    } catch {
      return initial;
    }
  });
  const update = useCallback(
    (next: T) => {
      setValue(next);
      try {
        sessionStorage.setItem(PREFIX + key, JSON.stringify(next));
      } catch {
        /* kept in memory only */
      }
    },
    [key],
  );
  const clear = useCallback(() => {
    setValue(initial);
    sessionStorage.removeItem(PREFIX + key);
  }, [key]);
  return [value, update, clear];
}

/** Leave a draft for a form not on screen (a useDraft with the same key picks it up). */
export function saveDraft<T>(key: string, value: T): void {
  try {
    sessionStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    /* not kept */
  }
}

/** The request_id of a post that must never be carried out twice (an incident started, an
 * update sent to every client). One id per post: made when the form is first sent, kept in the
 * tab (a reload keeps it too) and sent again with every retry until the API has carried the
 * post out (a 2xx), whatever happened in between: no answer, a gateway's 5xx, or a refusal
 * (a 422 after an unanswered attempt does not say that attempt failed). The API answers a
 * request_id it has seen with what the first attempt did, so a retry never posts twice, even
 * with the text changed meanwhile; the caller compares the answer with what it sent to tell
 * the commander when the changes were not posted (`reflects` in the pages). */
export function useRequestId(key: string): { begin: () => string; done: () => void } {
  const [id, setId, clear] = useDraft<string | null>(`${key}.request`, null);
  const begin = () => {
    if (id) return id;
    const fresh = crypto.randomUUID();
    setId(fresh);
    return fresh;
  };
  return { begin, done: clear };
}
