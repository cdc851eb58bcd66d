import { useState } from "react";
import type { ConnectRequest } from "../bindings/ConnectRequest";
import type { ProfileView } from "../bindings/ProfileView";

interface FirstRunProps {
  busy: boolean;
  error: string | null;
  /** Saved profiles (from this app or `countersign-cli`), opened with one click. */
  profiles: ProfileView[];
  onOpen: (name: string) => void;
  onConnect: (request: ConnectRequest) => void;
  onDemo: () => void;
  onCancel?: (() => void) | undefined;
}

type Method = "api_key" | "password";

interface Fields {
  name: string;
  gateway_url: string;
  tenant: string;
  api_key: string;
  username: string;
  password: string;
}

const toRequest = (method: Method, f: Fields): ConnectRequest => ({
  name: f.name,
  gateway_url: f.gateway_url,
  tenant: f.tenant,
  credential:
    method === "api_key"
      ? { method: "api_key", api_key: f.api_key }
      : { method: "password", username: f.username, password: f.password },
});

/**
 * "Connect to a gateway" or "Try the demo". An API key goes to the OS keychain, a password is
 * exchanged for a session at once; neither ever reaches a file.
 */
export function FirstRun({ busy, error, profiles, onOpen, onConnect, onDemo, onCancel }: FirstRunProps) {
  const [method, setMethod] = useState<Method>("api_key");
  const [fields, setFields] = useState<Fields>({
    name: "work",
    gateway_url: "https://",
    tenant: "default",
    api_key: "",
    username: "",
    password: "",
  });
  const field = (key: keyof Fields, label: string, type = "text") => (
    <>
      <label htmlFor={`connect-${key}`}>{label}</label>
      <input
        id={`connect-${key}`}
        type={type}
        autoComplete="off"
        value={fields[key]}
        onChange={(e) => {
          setFields({ ...fields, [key]: e.target.value });
        }}
      />
    </>
  );
  return (
    <section className="first-run" aria-labelledby="first-run-title" data-testid="first-run">
      {profiles.length > 0 && (
        <>
          <h2 id="saved-profiles-title">Open a profile</h2>
          <ul className="profile-list" aria-labelledby="saved-profiles-title" data-testid="saved-profiles">
            {profiles.map((p) => (
              <li key={p.name}>
                <button type="button" className="button" disabled={busy} onClick={() => { onOpen(p.name); }}>
                  {p.name}
                </button>{" "}
                <span className="muted">
                  {p.gateway_url} · {p.tenant}
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
      <h2 id="first-run-title">Connect to a gateway</h2>
      <p className="muted">Cordum, or any gateway that speaks its API. Plain http is allowed to this machine only.</p>
      <form
        className="connect-form"
        onSubmit={(e) => {
          e.preventDefault();
          onConnect(toRequest(method, fields));
        }}
      >
        {field("name", "Profile name")}
        {field("gateway_url", "Gateway URL", "url")}
        {field("tenant", "Tenant")}
        <fieldset className="connect-method">
          <legend>Sign in with</legend>
          {(
            [
              ["api_key", "API key"],
              ["password", "Username and password"],
            ] as const
          ).map(([value, label]) => (
            <label key={value} className="radio">
              <input
                type="radio"
                name="connect-method"
                value={value}
                checked={method === value}
                onChange={() => {
                  setMethod(value);
                }}
              />
              {label}
            </label>
          ))}
        </fieldset>
        {method === "api_key" ? (
          field("api_key", "API key", "password")
        ) : (
          <>
            {field("username", "Username")}
            {field("password", "Password", "password")}
          </>
        )}
        {error && (
          <p className="form-error" role="alert" data-testid="connect-error">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          {onCancel && (
            <button type="button" className="button" onClick={onCancel}>
              Cancel
            </button>
          )}
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? "Connecting…" : "Connect"}
          </button>
        </div>
      </form>
      <p className="first-run-demo">
        <button type="button" className="button" onClick={onDemo} disabled={busy} data-testid="try-demo">
          Try the demo
        </button>{" "}
        <span className="muted">a built-in gateway with simulated agents</span>
      </p>
    </section>
  );
}
