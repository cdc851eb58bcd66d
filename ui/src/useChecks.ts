import { useCallback, useEffect, useMemo, useState } from "react";
import * as api from "./api";
import type { CardView } from "./bindings/CardView";
import type { DetailView } from "./bindings/DetailView";
import type { Verdict } from "./bindings/Verdict";
import { toBackendError } from "./errors";
import { cardKey, type QueueModel } from "./model/queue";

/** A check that failed (the gateway unreachable) is tried again after this long. */
const RECHECK_MS = 30_000;

interface Checked {
  verdict: Verdict | null;
  at: number;
}

export interface DetailState {
  key: string;
  data: DetailView | null;
  error: string | null;
  loading: boolean;
}

const needsCheck = (entry: Checked | undefined, now: number) =>
  entry === undefined || (entry.verdict === null && now - entry.at >= RECHECK_MS);

/**
 * What an approve would get for each card, checked fresh through `item_detail`: the current
 * card and the first ones on screen in the background (so their badges are not blank), and the
 * opened one on request. A verdict holds for one version of a card, its loaded content and the
 * policy in force: a new policy makes every earlier check void.
 */
export function useChecks(queue: QueueModel, shown: readonly CardView[], current: CardView | null, now: number) {
  const [detail, setDetail] = useState<DetailState | null>(null);
  const [checks, setChecks] = useState<Record<string, Checked | undefined>>({});

  const policyEpoch = queue.notices.filter((n) => n.code === "policy_changed").reduce((max, n) => Math.max(max, n.seq), 0);
  const keyOf = useCallback(
    (view: CardView) => `${cardKey(view)}:${view.seen.content_digest}:${String(policyEpoch)}`,
    [policyEpoch],
  );

  const loadDetail = useCallback(
    async (card: CardView, showLoading: boolean) => {
      const key = keyOf(card);
      if (showLoading) setDetail((d) => ({ key, data: d?.key === key ? d.data : null, error: null, loading: true }));
      try {
        const data = await api.itemDetail(card.seen);
        setChecks((v) => ({ ...v, [key]: { verdict: data.verdict, at: Date.now() } }));
        // A slow answer for another card never replaces the detail on screen.
        setDetail((d) => (d?.key === key ? { key, data, error: null, loading: false } : d));
      } catch (rejection: unknown) {
        const message = toBackendError(rejection).message;
        // Remembered for a while, so the background check does not loop on an unreachable gateway.
        setChecks((v) => ({ ...v, [key]: { verdict: v[key]?.verdict ?? null, at: Date.now() } }));
        setDetail((d) => (d?.key === key ? { key, data: d.data, error: message, loading: false } : d));
      }
    },
    [keyOf],
  );

  const currentKey = current ? keyOf(current) : null;
  useEffect(() => {
    if (!current || currentKey === null || !current.content_ready || !needsCheck(checks[currentKey], Date.now())) return;
    const timer = setTimeout(() => {
      void loadDetail(current, false);
    }, 300);
    return () => {
      clearTimeout(timer);
    };
  }, [current, currentKey, checks, loadDetail]);

  const unchecked = shown.slice(0, 8).find((c) => c.content_ready && needsCheck(checks[keyOf(c)], now));
  useEffect(() => {
    if (!unchecked) return;
    const timer = setTimeout(() => {
      void loadDetail(unchecked, false);
    }, 600);
    return () => {
      clearTimeout(timer);
    };
  }, [unchecked, loadDetail]);

  /** The badges' verdicts, by card identity, from checks made under the current policy. */
  const verdicts = useMemo(() => {
    const suffix = `:${String(policyEpoch)}`;
    return Object.fromEntries(
      Object.entries(checks)
        .filter(([key]) => key.endsWith(suffix))
        .map(([key, entry]) => [key.slice(0, -suffix.length), entry?.verdict ?? undefined]),
    );
  }, [checks, policyEpoch]);

  const detailOf = (card: CardView) => (detail?.key === keyOf(card) ? detail : null);
  const reset = useCallback(() => {
    setChecks({});
    setDetail(null);
  }, []);

  return { loadDetail, verdicts, detailOf, loading: detail?.loading ?? false, reset };
}
