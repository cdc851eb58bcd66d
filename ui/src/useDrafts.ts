import { useCallback, useEffect, useState } from "react";
import * as api from "./api";
import type { PolicyDraft } from "./bindings/PolicyDraft";
import type { SessionView } from "./bindings/SessionView";
import { toBackendError } from "./errors";

/**
 * The open profile's policy drafts, read when the profile opens and again on every draft event
 * (`version` is the queue's `draftsVersion`). A gateway without governance has none.
 */
export function useDrafts(session: SessionView | null | undefined, version: number) {
  /** The list read, with the desk it is of: another desk's drafts are never shown. */
  const [read, setRead] = useState<{ desk: number | null; list: PolicyDraft[] }>({ desk: null, list: [] });
  const [error, setError] = useState<string | null>(null);
  const [reads, setReads] = useState(0);
  const desk = session?.desk ?? null;

  useEffect(() => {
    if (desk === null) return;
    let live = true;
    api.policyDrafts().then(
      (list) => {
        if (!live) return;
        setRead({ desk, list });
        setError(null);
      },
      (rejection: unknown) => {
        if (live) setError(toBackendError(rejection).message);
      },
    );
    return () => {
      live = false;
    };
  }, [desk, version, reads]);

  const refresh = useCallback(() => {
    setReads((n) => n + 1);
  }, []);
  const drafts = read.desk === desk ? read.list : [];
  const open = drafts.filter((d) => d.status === "open").length;
  return { drafts, open, error, refresh };
}
