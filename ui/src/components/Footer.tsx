import type { ConnectionStatus } from "../bindings/ConnectionStatus";
import type { SessionView } from "../bindings/SessionView";
import { clock } from "../format";

/** The connection, always visible: live / polling / offline since / sign in again. */
export function Footer({ status, session }: { status: ConnectionStatus; session: SessionView | null }) {
  if (!session) {
    return (
      <p className="status-line" data-testid="status-line" data-state="none" role="status" aria-live="polite">
        <span className="status-text">No profile open</span>
      </p>
    );
  }
  return (
    <p className={`status-line status-${status.state}`} data-testid="status-line" data-state={status.state} role="status" aria-live="polite">
      <span className="status-dot" aria-hidden="true" />
      <span className="status-text">{describe(status)}</span>
      {status.last_sync_ms !== null && <span className="status-sync">synced {clock(status.last_sync_ms)}</span>}
      {!status.complete && (
        <span className="status-incomplete" data-testid="status-incomplete">
          more are pending than shown
        </span>
      )}
      <span className="status-gateway" title={session.gateway_url}>
        {session.profile}
        {status.generation && ` · API ${status.generation}`}
      </span>
    </p>
  );
}

export function describe(status: ConnectionStatus): string {
  switch (status.state) {
    case "connecting":
      return "Connecting…";
    case "live":
      return "Live (events)";
    case "polling":
      return "Live (polling)";
    case "offline":
      return status.offline_since_ms === null
        ? "Offline: showing the last known queue"
        : `Offline since ${clock(status.offline_since_ms)}: showing the last known queue`;
    case "reauth":
      return "Sign in again: the session ended";
  }
}
