import { useCallback, useEffect, useRef, useState } from "react";
import * as api from "./api";
import type { AppSettings } from "./bindings/AppSettings";
import { toBackendError } from "./errors";
import { NO_FILTER, type QueueFilter } from "./model/filter";
import { useTheme } from "./theme";

export const DEFAULT_SETTINGS: AppSettings = {
  theme: "system",
  review: { high_risk_tags: ["prod", "secrets", "finance", "delete"] },
  single_key_shortcuts: true,
  do_not_disturb: false,
  quiet_hours: { enabled: false, from_minute: 18 * 60, to_minute: 9 * 60 },
  filter: NO_FILTER,
};

/** The filter is saved this long after the last keystroke, not on every one. */
const FILTER_SAVE_MS = 800;

/**
 * The saved settings, applied (theme) and changed through the Rust side, which normalizes them
 * and asks natively before the high-risk guard is lowered. The queue filter is kept too.
 */
export function useSettings(loadWhen: unknown) {
  const [settings, setSettings] = useState<AppSettings>(DEFAULT_SETTINGS);
  const [filter, setFilterState] = useState<QueueFilter>(NO_FILTER);
  const latest = useRef(settings);
  useTheme(settings.theme);

  useEffect(() => {
    if (loadWhen === undefined) return;
    api.getSettings().then(
      (saved) => {
        latest.current = saved;
        setSettings(saved);
        setFilterState(saved.filter);
      },
      () => undefined,
    );
  }, [loadWhen]);

  useEffect(() => {
    let live = true;
    let stop: (() => void) | null = null;
    api.onSettings((saved) => {
      if (!live) return;
      latest.current = { ...saved, filter: latest.current.filter };
      setSettings(latest.current);
    }).then(
      (unlisten) => {
        if (live) stop = unlisten;
        else unlisten();
      },
      () => undefined,
    );
    return () => {
      live = false;
      stop?.();
    };
  }, []);

  const update = useCallback(async (next: AppSettings): Promise<string | null> => {
    try {
      // The filter on screen wins over the one the caller last saw.
      const saved = await api.setSettings({ ...next, filter: latest.current.filter });
      latest.current = saved;
      setSettings(saved);
      return null;
    } catch (rejection: unknown) {
      return toBackendError(rejection).message;
    }
  }, []);

  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const setFilter = useCallback((next: QueueFilter) => {
    setFilterState(next);
    latest.current = { ...latest.current, filter: next };
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      // Best effort: a filter that was not saved only means starting unfiltered next time.
      void api.setSettings(latest.current).catch(() => undefined);
    }, FILTER_SAVE_MS);
  }, []);

  return { settings, update, filter, setFilter };
}
