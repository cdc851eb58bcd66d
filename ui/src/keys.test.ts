import { describe, expect, it } from "vitest";
import { keyCommand } from "./keys";

const key = (k: string, mods: Partial<{ shiftKey: boolean; ctrlKey: boolean; altKey: boolean; metaKey: boolean }> = {}) => ({
  key: k,
  shiftKey: false,
  ctrlKey: false,
  altKey: false,
  metaKey: false,
  ...mods,
});

describe("keyCommand", () => {
  it("maps the documented keys", () => {
    expect(keyCommand(key("j"), false)).toEqual({ type: "move", by: 1, select: false });
    expect(keyCommand(key("K", { shiftKey: true }), false)).toEqual({ type: "move", by: -1, select: true });
    expect(keyCommand(key("Enter"), false)).toEqual({ type: "open" });
    expect(keyCommand(key("a"), false)).toEqual({ type: "approve" });
    expect(keyCommand(key("r"), false)).toEqual({ type: "reject" });
    expect(keyCommand(key("/"), false)).toEqual({ type: "search" });
    expect(keyCommand(key("?"), false)).toEqual({ type: "help" });
    expect(keyCommand(key(" "), false)).toEqual({ type: "toggle" });
  });

  it("reads g h and g q as two-key sequences", () => {
    expect(keyCommand(key("g"), false)).toEqual({ type: "prefix" });
    expect(keyCommand(key("h"), true)).toEqual({ type: "view", view: "history" });
    expect(keyCommand(key("q"), true)).toEqual({ type: "view", view: "queue" });
    expect(keyCommand(key("s"), true)).toEqual({ type: "view", view: "settings" });
    expect(keyCommand(key("a"), true)).toBeNull();
  });

  it("turns every single-character key off on request, keeping arrows, Enter and Esc", () => {
    for (const k of ["j", "k", "J", "K", " ", "a", "r", "/", "?", "g"]) {
      expect(keyCommand(key(k), false, false)).toBeNull();
    }
    expect(keyCommand(key("ArrowDown"), false, false)).toEqual({ type: "move", by: 1, select: false });
    expect(keyCommand(key("Enter"), false, false)).toEqual({ type: "open" });
    expect(keyCommand(key("Escape"), false, false)).toEqual({ type: "escape" });
  });

  it("never decides on a key held down", () => {
    expect(keyCommand({ ...key("a"), repeat: true }, false)).toBeNull();
    expect(keyCommand({ ...key("r"), repeat: true }, false)).toBeNull();
    expect(keyCommand({ ...key("j"), repeat: true }, false)).toEqual({ type: "move", by: 1, select: false });
  });

  it("leaves shortcuts with modifiers to the system", () => {
    expect(keyCommand(key("a", { ctrlKey: true }), false)).toBeNull();
    expect(keyCommand(key("r", { metaKey: true }), false)).toBeNull();
  });
});
