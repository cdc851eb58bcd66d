import { describe, expect, it } from "vitest";
import { toBackendError, UNKNOWN_ERROR_CODE } from "./errors";

describe("toBackendError", () => {
  it("keeps code and message from a serialized backend error", () => {
    expect(toBackendError({ code: "gateway.unreachable", message: "Gateway did not answer" })).toEqual({
      code: "gateway.unreachable",
      message: "Gateway did not answer",
    });
  });

  it("uses a plain string rejection as the message", () => {
    expect(toBackendError("command app_status not found")).toEqual({
      code: UNKNOWN_ERROR_CODE,
      message: "command app_status not found",
    });
  });

  it("uses an Error's message and its code when it has one", () => {
    expect(toBackendError(new TypeError("boom"))).toEqual({ code: UNKNOWN_ERROR_CODE, message: "boom" });
    expect(toBackendError(Object.assign(new Error("denied"), { code: "EACCES" }))).toEqual({
      code: "EACCES",
      message: "denied",
    });
  });

  it("falls back when code or message are missing, empty or not strings", () => {
    expect(toBackendError({ code: 42, message: "" })).toEqual({ code: UNKNOWN_ERROR_CODE, message: "Unknown error" });
    expect(toBackendError({ message: { nested: true } })).toEqual({
      code: UNKNOWN_ERROR_CODE,
      message: "Unknown error",
    });
    expect(toBackendError("   ")).toEqual({ code: UNKNOWN_ERROR_CODE, message: "Unknown error" });
  });

  it.each([null, undefined, 7, true])("handles a %s rejection", (rejection) => {
    expect(toBackendError(rejection)).toEqual({ code: UNKNOWN_ERROR_CODE, message: "Unknown error" });
  });
});
