import { invoke, isTauri } from "@tauri-apps/api/core";
import type { AppStatus } from "./bindings/AppStatus";

/** Every backend call goes through this module so tests can replace it with `vi.mock`. */
export async function fetchAppStatus(): Promise<AppStatus> {
  requireTauri();
  return invoke<AppStatus>("app_status");
}

// Outside the desktop shell (e.g. `npm run dev` in a browser) `invoke` fails with an
// opaque TypeError; say what is actually wrong instead.
function requireTauri(): void {
  if (!isTauri()) {
    throw new Error("not running inside the Countersign desktop app");
  }
}
