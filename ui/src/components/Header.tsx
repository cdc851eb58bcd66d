import { count } from "../format";
import type { ProfileView } from "../bindings/ProfileView";
import type { SessionView } from "../bindings/SessionView";

export type View = "queue" | "policy" | "history" | "settings";

interface HeaderProps {
  session: SessionView | null;
  view: View;
  pending: number;
  /** Policy drafts awaiting a countersign. */
  drafts: number;
  profiles: ProfileView[];
  onView: (view: View) => void;
  onSwitch: (profile: string) => void;
  onSignOut: () => void;
  onHelp: () => void;
}

const DEMO_CHOICE = "__demo__";
const CONNECT_CHOICE = "__connect__";

export function Header({ session, view, pending, drafts, profiles, onView, onSwitch, onSignOut, onHelp }: HeaderProps) {
  return (
    <header className="app-header">
      <h1 className="app-title" data-testid="app-title">
        Countersign
      </h1>
      {session?.demo && (
        <span className="demo-badge" data-testid="demo-badge">
          Demo
        </span>
      )}
      {session && (
        <nav className="tabs" aria-label="Views">
          <button type="button" className="tab" data-testid="queue-tab" aria-current={view === "queue" ? "page" : undefined} onClick={() => { onView("queue"); }}>
            Queue <span className="queue-count">{count(pending)}</span>
          </button>
          <button type="button" className="tab" data-testid="policy-tab" aria-current={view === "policy" ? "page" : undefined} onClick={() => { onView("policy"); }}>
            Policy {drafts > 0 && <span className="queue-count" data-testid="drafts-count">{count(drafts)}</span>}
          </button>
          <button type="button" className="tab" data-testid="history-tab" aria-current={view === "history" ? "page" : undefined} onClick={() => { onView("history"); }}>
            History
          </button>
          <button type="button" className="tab" data-testid="settings-tab" aria-current={view === "settings" ? "page" : undefined} onClick={() => { onView("settings"); }}>
            Settings
          </button>
        </nav>
      )}
      <span className="header-spacer" />
      {session && (
        <select
          className="profile-switch"
          aria-label="Profile"
          value={session.demo ? DEMO_CHOICE : session.profile}
          onChange={(e) => {
            onSwitch(e.target.value);
          }}
        >
          <option value={DEMO_CHOICE}>Demo</option>
          {profiles.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
          <option value={CONNECT_CHOICE}>Connect to a gateway…</option>
        </select>
      )}
      {session && !session.demo && (
        <button type="button" className="button" onClick={onSignOut} data-testid="sign-out">
          Sign out
        </button>
      )}
      <button type="button" className="button" onClick={onHelp} aria-label="Keyboard shortcuts (?)">
        ?
      </button>
    </header>
  );
}

export { CONNECT_CHOICE, DEMO_CHOICE };
