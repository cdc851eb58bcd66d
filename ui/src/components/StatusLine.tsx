import { useEffect, useState } from "react";
import { fetchAppStatus } from "../api";
import type { AppStatus } from "../bindings/AppStatus";
import { type BackendError, toBackendError } from "../errors";

type StatusState =
  | { kind: "connecting" }
  | { kind: "ready"; status: AppStatus }
  | { kind: "unavailable"; error: BackendError };

export function StatusLine() {
  const [state, setState] = useState<StatusState>({ kind: "connecting" });

  useEffect(() => {
    // StrictMode mounts effects twice; only the live mount may set state.
    let unmounted = false;
    fetchAppStatus().then(
      (status) => {
        if (!unmounted) setState({ kind: "ready", status });
      },
      (rejection: unknown) => {
        if (!unmounted) setState({ kind: "unavailable", error: toBackendError(rejection) });
      },
    );
    return () => {
      unmounted = true;
    };
  }, []);

  return (
    <p className="status-line" data-testid="status-line" data-state={state.kind} role="status" aria-live="polite">
      {describe(state)}
    </p>
  );
}

function describe(state: StatusState): string {
  switch (state.kind) {
    case "connecting":
      return "Connecting…";
    case "ready":
      return state.status.summary;
    case "unavailable":
      return `Backend unavailable: ${state.error.message}`;
  }
}
