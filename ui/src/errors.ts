/** The shape every backend command error is serialized to: a stable code plus a human message. */
export interface BackendError {
  code: string;
  message: string;
  /** Structured detail where the UI shows more than words (a drift verdict, an outcome). */
  detail?: unknown;
}

export const UNKNOWN_ERROR_CODE = "unknown";

const FALLBACK_MESSAGE = "Unknown error";

/**
 * Normalizes whatever a rejected `invoke` produced. Tauri rejects with the serialized
 * error object, but plugins, the IPC layer and plain JS failures reject with strings
 * or `Error`s, so callers cannot assume a shape.
 */
export function toBackendError(rejection: unknown): BackendError {
  if (typeof rejection === "string") {
    return { code: UNKNOWN_ERROR_CODE, message: nonEmptyOr(rejection, FALLBACK_MESSAGE) };
  }
  if (typeof rejection === "object" && rejection !== null) {
    const { code, message, detail } = rejection as { code?: unknown; message?: unknown; detail?: unknown };
    return {
      code: typeof code === "string" && code !== "" ? code : UNKNOWN_ERROR_CODE,
      message: typeof message === "string" ? nonEmptyOr(message, FALLBACK_MESSAGE) : FALLBACK_MESSAGE,
      ...(detail === undefined || detail === null ? {} : { detail }),
    };
  }
  return { code: UNKNOWN_ERROR_CODE, message: FALLBACK_MESSAGE };
}

function nonEmptyOr(text: string, fallback: string): string {
  return text.trim() === "" ? fallback : text;
}
