import { useEffect, useState } from "react";
import * as api from "./api";
import type { QueueAction } from "./model/queue";

/**
 * What desktop notifications tell the window: open an item or a policy draft, a warning to
 * show, a requester reported (its cards are marked).
 */
export function useNotificationEvents(
  dispatch: (action: QueueAction) => void,
  onOpen: (jobId: string | null) => void,
  onOpenDraft: (draftId: string) => void,
) {
  const [reported, setReported] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => {
    let live = true;
    const stops: (() => void)[] = [];
    const subscribe = async () => {
      stops.push(
        await api.onOpenItem((jobId) => {
          if (live) onOpen(jobId);
        }),
        await api.onOpenDraft((draftId) => {
          if (live) onOpenDraft(draftId);
        }),
        await api.onNotificationWarning((message) => {
          if (live) dispatch({ type: "local_notice", code: "notification_flood", message, now: Date.now() });
        }),
        await api.onRequesterReported((requester) => {
          if (live) setReported((old) => new Set([...old, requester]));
        }),
      );
    };
    subscribe().catch(() => undefined);
    return () => {
      live = false;
      for (const stop of stops) stop();
    };
  }, [dispatch, onOpen, onOpenDraft]);
  return reported;
}
