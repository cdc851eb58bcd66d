import { useState } from "react";
import type { AppSettings } from "../bindings/AppSettings";
import type { Theme } from "../bindings/Theme";

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
