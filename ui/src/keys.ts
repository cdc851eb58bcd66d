/** What a key press in the queue means. Pure, so the whole keymap is tested without a DOM. */
export type KeyCommand =
  | { type: "move"; by: 1 | -1; select: boolean }
  | { type: "toggle" }
  | { type: "open" }
  | { type: "approve" }
  | { type: "reject" }
  | { type: "search" }
  | { type: "view"; view: "queue" | "policy" | "history" | "settings" }
  | { type: "help" }
  | { type: "escape" }
  | { type: "prefix" };

export interface KeyInput {
  key: string;
  /** A key held down: never a decision. */
  repeat?: boolean;
  shiftKey: boolean;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

/** Keys that act without a modifier or a focused control: the ones WCAG 2.1.4 lets a user turn off. */
const CHARACTER_KEYS = new Set(["j", "k", "J", "K", " ", "a", "r", "/", "?", "g"]);

/**
 * `afterG`: the previous key was a lone `g` (for `g h`, `g p`, `g q`, `g s`). With `singleKeys` off,
 * only the arrows, Enter and Esc act.
 */
export function keyCommand(event: KeyInput, afterG: boolean, singleKeys = true): KeyCommand | null {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  if (!singleKeys && CHARACTER_KEYS.has(event.key)) return null;
  if (afterG) {
    if (event.key === "h") return { type: "view", view: "history" };
    if (event.key === "q") return { type: "view", view: "queue" };
    if (event.key === "p") return { type: "view", view: "policy" };
    if (event.key === "s") return { type: "view", view: "settings" };
    return null;
  }
  switch (event.key) {
    case "j":
      return { type: "move", by: 1, select: false };
    case "k":
      return { type: "move", by: -1, select: false };
    case "J":
      return { type: "move", by: 1, select: true };
    case "K":
      return { type: "move", by: -1, select: true };
    case "ArrowDown":
      return { type: "move", by: 1, select: event.shiftKey };
    case "ArrowUp":
      return { type: "move", by: -1, select: event.shiftKey };
    case " ":
      return { type: "toggle" };
    case "Enter":
      return { type: "open" };
    case "a":
      return event.repeat ? null : { type: "approve" };
    case "r":
      return event.repeat ? null : { type: "reject" };
    case "/":
      return { type: "search" };
    case "?":
      return { type: "help" };
    case "Escape":
      return { type: "escape" };
    case "g":
      return { type: "prefix" };
    default:
      return null;
  }
}

/** Keys typed into a field belong to the field. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}
