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
