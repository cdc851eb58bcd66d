import { Fragment } from "react";

/**
 * Characters that reorder or hide text: bidi embeddings, overrides and isolates, zero-width
 * characters, the BOM, and controls other than tab and newline. In an agent's string they can
 * make a reviewer read something else than what is there ("approve" shown for "evorppa"), so
 * they are drawn as visible marks instead of being applied.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/gu;

/** Short names for the marks; any other hidden character shows its code point. */
const NAMES: Record<string, string> = {
  "\u200b": "ZWSP",
  "\u200c": "ZWNJ",
  "\u200d": "ZWJ",
  "\u200e": "LRM",
  "\u200f": "RLM",
  "\u202a": "LRE",
  "\u202b": "RLE",
  "\u202c": "PDF",
  "\u202d": "LRO",
  "\u202e": "RLO",
  "\u2066": "LRI",
  "\u2067": "RLI",
  "\u2068": "FSI",
  "\u2069": "PDI",
  "\ufeff": "BOM",
};

function codePoint(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const EMOJI_TAIL = /\p{Extended_Pictographic}|[\u{1F3FB}-\u{1F3FF}]|\uFE0F/u;

/** A zero-width joiner inside an emoji sequence (👩‍👩‍👧) joins pictures: it hides nothing. */
function joinsEmoji(text: string, at: number): boolean {
  if (text[at] !== "\u200d") return false;
  // Two code units hold the character before: an emoji (a surrogate pair) or a BMP tail (VS16).
  const before = text.slice(Math.max(0, at - 2), at);
  const after = String.fromCodePoint(text.codePointAt(at + 1) ?? 0);
  return EMOJI_TAIL.test(before) && PICTOGRAPH.test(after);
}

/** The text split into plain runs and hidden characters. */
export function splitHidden(text: string): { text: string; hidden: boolean }[] {
  const parts: { text: string; hidden: boolean }[] = [];
  let last = 0;
  for (const match of text.matchAll(HIDDEN)) {
    if (joinsEmoji(text, match.index)) continue;
    if (match.index > last) parts.push({ text: text.slice(last, match.index), hidden: false });
    parts.push({ text: match[0], hidden: true });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), hidden: false });
  return parts;
}

/** Whether an identifier (a topic, a requester) has characters outside printable ASCII: a
 * look-alike (Cyrillic "а" for Latin "a") reads as the name it imitates. */
export function hasLookAlikes(text: string): boolean {
  return /[^\u0020-\u007e]/u.test(text);
}

/** An agent-supplied string as text, with its hidden characters made visible. */
export function AgentText({ value }: { value: string }) {
  const parts = splitHidden(value);
  if (parts.every((p) => !p.hidden)) return <>{value}</>;
  return (
    <bdi>
      {parts.map((part, index) =>
        part.hidden ? (
          <abbr key={index} className="hidden-char" title={`Hidden character ${codePoint(part.text)}`} data-testid="hidden-char">
            {`⟨${NAMES[part.text] ?? codePoint(part.text)}⟩`}
          </abbr>
        ) : (
          <Fragment key={index}>{part.text}</Fragment>
        ),
      )}
    </bdi>
  );
}

/** An agent-supplied identifier: hidden characters visible, and look-alikes flagged. */
export function AgentName({ value }: { value: string }) {
  return (
    <>
      <AgentText value={value} />
      {hasLookAlikes(value) && (
        <span className="lookalike-mark" data-testid="lookalike-mark" title="Contains characters outside plain ASCII: it may imitate another name">
          {" "}
          non-ASCII
        </span>
      )}
    </>
  );
}
