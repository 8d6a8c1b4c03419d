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

type Attempt = { id: string; body: string };

/** The request_id of a post that must never be carried out twice (an incident started, an
 * update sent to every client). Each new post gets a fresh one; a post whose answer never
 * came (a network error, a gateway's 5xx) keeps its id, so pressing the button again with
 * the same content is answered by the API with what the first attempt did. A changed body
 * is a new post and gets a new id; so does one after a definite answer (2xx, 4xx). */
export function useRequestId(key: string): {
  idFor: (body: unknown) => string;
  unanswered: (id: string, body: unknown) => void;
  answered: () => void;
} {
  const [attempt, setAttempt, clear] = useDraft<Attempt | null>(`${key}.request`, null);
  const idFor = (body: unknown) => {
    const text = JSON.stringify(body);
    return attempt && attempt.body === text ? attempt.id : crypto.randomUUID();
  };
  const unanswered = (id: string, body: unknown) => setAttempt({ id, body: JSON.stringify(body) });
  return { idFor, unanswered, answered: clear };
}
