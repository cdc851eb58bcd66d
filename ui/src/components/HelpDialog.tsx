import { Dialog } from "./Dialog";

const KEYS: [string, string][] = [
  ["j / k", "next / previous card"],
  ["Shift+J / Shift+K", "select while moving"],
  ["Space", "select or unselect the card"],
  ["Enter", "open the card's detail"],
  ["a", "approve the card"],
  ["r", "reject the card (asks for a reason)"],
  ["/", "search"],
  ["g p", "policy drafts"],
  ["g h", "history"],
  ["g q", "queue"],
  ["g s", "settings"],
  ["Esc", "close, or back to the queue"],
  ["?", "this list"],
];

export function HelpDialog({ onClose, singleKeys }: { onClose: () => void; singleKeys: boolean }) {
  return (
    <Dialog title="Keyboard" onClose={onClose} testId="help-dialog">
      {!singleKeys && (
        <p className="muted">Single-key shortcuts are off (Settings): only the arrows, Enter and Esc act.</p>
      )}
      <dl className="help-keys">
        {KEYS.map(([key, what]) => (
          <div key={key}>
            <dt>
              <kbd>{key}</kbd>
            </dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
      <div className="dialog-actions">
        <button type="button" className="button" autoFocus onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
