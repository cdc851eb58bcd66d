import { useState } from "react";
import type { ProfileView } from "../bindings/ProfileView";

interface SignInAgainProps {
  profile: ProfileView;
  busy: boolean;
  error: string | null;
  onSubmit: (secret: string) => void;
  onCancel: () => void;
}

/** In place of the queue when the gateway no longer accepts the profile's session or key. */
export function SignInAgain({ profile, busy, error, onSubmit, onCancel }: SignInAgainProps) {
  const [secret, setSecret] = useState("");
  const label = profile.auth === "password" ? "Password" : "API key";
  return (
    <section className="first-run" aria-labelledby="sign-in-title" data-testid="sign-in-again">
      <h2 id="sign-in-title">Sign in again to {profile.name}</h2>
      <p className="muted">
        {profile.gateway_url} · tenant {profile.tenant}. The gateway no longer accepts this profile&apos;s{" "}
        {profile.auth === "password" ? "session" : "key"}; its history stays as it is.
      </p>
      <form
        className="connect-form"
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit(secret);
        }}
      >
        <label htmlFor="sign-in-secret">{label}</label>
        <input
          id="sign-in-secret"
          type="password"
          autoComplete="off"
          value={secret}
          onChange={(e) => {
            setSecret(e.target.value);
          }}
        />
        {error && (
          <p className="form-error" role="alert" data-testid="sign-in-error">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy || secret.trim() === ""}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </div>
      </form>
    </section>
  );
}
