import { useEffect, useState } from "react";
import * as api from "../api";
import type { AppSettings } from "../bindings/AppSettings";
import type { QuietHours } from "../bindings/QuietHours";
import type { Theme } from "../bindings/Theme";
import { toBackendError } from "../errors";
import { clockToMinute, minuteToClock } from "../format";

interface SettingsViewProps {
  settings: AppSettings;
  /** Saves the change; resolves to an error message, or `null` once saved. */
  onChange: (next: AppSettings) => Promise<string | null>;
}

const THEMES: [Theme, string][] = [
  ["system", "Follow the system"],
  ["light", "Light"],
  ["dark", "Dark"],
];

/** Settings kept beside the profiles. Removing a high-risk tag is confirmed in a native dialog. */
export function SettingsView({ settings, onChange }: SettingsViewProps) {
  const [newTag, setNewTag] = useState("");
  const [error, setError] = useState<string | null>(null);
  const save = async (next: AppSettings) => {
    setError(await onChange(next));
  };
  const openAtLogin = useOpenAtLogin(setError);
  const quiet = settings.quiet_hours;
  const setQuiet = (change: Partial<QuietHours>) => save({ ...settings, quiet_hours: { ...quiet, ...change } });
  const tags = settings.review.high_risk_tags;
  const setTags = (high_risk_tags: string[]) => save({ ...settings, review: { ...settings.review, high_risk_tags } });
  return (
    <section className="settings" aria-labelledby="settings-title" data-testid="settings">
      <h2 id="settings-title">Settings</h2>
      {error && (
        <p className="form-error" role="alert" data-testid="settings-error">
          {error}
        </p>
      )}
      <fieldset>
        <legend>Theme</legend>
        {THEMES.map(([value, label]) => (
          <label key={value} className="radio">
            <input
              type="radio"
              name="theme"
              value={value}
              checked={settings.theme === value}
              onChange={() => void save({ ...settings, theme: value })}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>High-risk tags</legend>
        <p className="muted">
          Approving an item with one of these tags asks for the last 4 characters of its job hash, and bulk approval
          leaves it out. Tags that only look like these (other alphabets, invisible characters) count as high risk too.
        </p>
        <ul className="tag-list" data-testid="high-risk-tags">
          {tags.map((tag) => (
            <li key={tag} className="chip">
              {tag}
              <button
                type="button"
                className="link-button"
                aria-label={`Remove ${tag}`}
                onClick={() => void setTags(tags.filter((t) => t !== tag))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const tag = newTag.trim();
            if (!tag) return;
            setNewTag("");
            void setTags([...tags, tag]);
          }}
        >
          <label htmlFor="new-risk-tag">Add a tag</label>
          <input
            id="new-risk-tag"
            value={newTag}
            maxLength={64}
            onChange={(e) => {
              setNewTag(e.target.value);
            }}
          />
          <button type="submit" className="button">
            Add
          </button>
        </form>
      </fieldset>
      <fieldset>
        <legend>Notifications</legend>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={settings.do_not_disturb}
            onChange={(e) => void save({ ...settings, do_not_disturb: e.target.checked })}
          />
          Do not disturb: raise no desktop notifications. Nothing is lost; turning it off shows one summary of what
          arrived.
        </label>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={quiet.enabled}
            onChange={(e) => void setQuiet({ enabled: e.target.checked })}
          />
          Quiet hours: do not disturb every day
        </label>
        <div className="inline-form" data-testid="quiet-hours">
          <label htmlFor="quiet-from">from</label>
          <input
            id="quiet-from"
            type="time"
            value={minuteToClock(quiet.from_minute)}
            onChange={(e) => {
              const from_minute = clockToMinute(e.target.value);
              if (from_minute !== null) void setQuiet({ from_minute });
            }}
          />
          <label htmlFor="quiet-to">to</label>
          <input
            id="quiet-to"
            type="time"
            value={minuteToClock(quiet.to_minute)}
            onChange={(e) => {
              const to_minute = clockToMinute(e.target.value);
              if (to_minute !== null) void setQuiet({ to_minute });
            }}
          />
          <span className="muted">(this computer&apos;s time)</span>
        </div>
      </fieldset>
      <fieldset>
        <legend>Start</legend>
        <label className="checkbox">
          <input
            type="checkbox"
            data-testid="open-at-login"
            checked={openAtLogin.enabled ?? false}
            disabled={openAtLogin.enabled === null}
            onChange={(e) => void openAtLogin.set(e.target.checked)}
          />
          Open at login, in the tray: notifications arrive without opening the window.
        </label>
      </fieldset>
      <fieldset>
        <legend>Keyboard</legend>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={settings.single_key_shortcuts}
            onChange={(e) => void save({ ...settings, single_key_shortcuts: e.target.checked })}
          />
          Single-key shortcuts (j, k, a, r, /, ?, g …). Off: only the arrows, Enter and Esc act.
        </label>
      </fieldset>
    </section>
  );
}

/** The login item, read from the system (it is the setting); `null` until known. */
function useOpenAtLogin(setError: (message: string | null) => void) {
  const [enabled, setEnabled] = useState<boolean | null>(null);
  useEffect(() => {
    api.openAtLogin(null).then(setEnabled, (rejection: unknown) => {
      setError(toBackendError(rejection).message);
    });
  }, [setError]);
  const set = async (enable: boolean) => {
    try {
      setEnabled(await api.openAtLogin(enable));
      setError(null);
    } catch (rejection: unknown) {
      setError(toBackendError(rejection).message);
    }
  };
  return { enabled, set };
}
