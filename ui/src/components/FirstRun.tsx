import { useState } from "react";
import type { ConnectRequest } from "../bindings/ConnectRequest";

interface FirstRunProps {
  busy: boolean;
  error: string | null;
  onConnect: (request: ConnectRequest) => void;
  onDemo: () => void;
  onCancel?: (() => void) | undefined;
}

/** "Connect to a gateway" or "Try the demo". The key goes to the OS keychain, never to a file. */
export function FirstRun({ busy, error, onConnect, onDemo, onCancel }: FirstRunProps) {
  const [request, setRequest] = useState<ConnectRequest>({ name: "work", gateway_url: "https://", tenant: "default", api_key: "" });
  const field = (key: keyof ConnectRequest, label: string, type = "text") => (
    <>
      <label htmlFor={`connect-${key}`}>{label}</label>
      <input
        id={`connect-${key}`}
        type={type}
        autoComplete="off"
        value={request[key]}
        onChange={(e) => {
          setRequest({ ...request, [key]: e.target.value });
        }}
      />
    </>
  );
  return (
    <section className="first-run" aria-labelledby="first-run-title" data-testid="first-run">
      <h2 id="first-run-title">Connect to a gateway</h2>
      <p className="muted">Cordum, or any gateway that speaks its API. Plain http is allowed to this machine only.</p>
      <form
        className="connect-form"
        onSubmit={(e) => {
          e.preventDefault();
          onConnect(request);
        }}
      >
        {field("name", "Profile name")}
        {field("gateway_url", "Gateway URL", "url")}
        {field("tenant", "Tenant")}
        {field("api_key", "API key", "password")}
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
