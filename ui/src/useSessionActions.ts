import { useCallback, useEffect, useState } from "react";
import * as api from "./api";
import type { ConnectRequest } from "./bindings/ConnectRequest";
import type { ProfileView } from "./bindings/ProfileView";
import type { SessionView } from "./bindings/SessionView";
import { toBackendError } from "./errors";

interface Options {
  session: SessionView | null | undefined;
  setSession: (session: SessionView | null) => void;
  /** Called after another profile (or none) was opened: the window forgets the old one's state. */
  onOpened: () => void;
}

/**
 * Opening, switching and leaving profiles. A profile whose session or key the gateway no longer
 * accepts is signed in again in place, never shown as an error page.
 */
export function useSessionActions({ session, setSession, onOpened }: Options) {
  const [profiles, setProfiles] = useState<ProfileView[]>([]);
  const [connecting, setConnecting] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** The profile to sign in again, while its form is shown. */
  const [reauth, setReauth] = useState<ProfileView | null>(null);

  const refreshProfiles = useCallback(() => {
    api.listProfiles().then(setProfiles, () => undefined);
  }, []);
  useEffect(() => {
    if (session !== undefined) refreshProfiles();
  }, [session, refreshProfiles]);

  const run = async (work: () => Promise<SessionView | null>, profileName?: string) => {
    setBusy(true);
    setError(null);
    try {
      setSession(await work());
      setConnecting(false);
      setReauth(null);
      refreshProfiles();
      onOpened();
    } catch (rejection: unknown) {
      const failure = toBackendError(rejection);
      const profile = profiles.find((p) => p.name === profileName);
      if (failure.code === "reauth_required" && profile) setReauth(profile);
      else setError(failure.message);
    } finally {
      setBusy(false);
    }
  };

  return {
    profiles,
    connecting,
    busy,
    error,
    reauth,
    clearError: () => {
      setError(null);
    },
    startConnecting: () => {
      setConnecting(true);
    },
    cancel: () => {
      setConnecting(false);
      setReauth(null);
      setError(null);
    },
    connect: (request: ConnectRequest) => void run(() => api.connectGateway(request)),
    tryDemo: () => void run(() => api.startDemo()),
    open: (name: string) => void run(() => api.openProfile(name), name),
    signOut: () =>
      void run(async () => {
        await api.signOut();
        return null;
      }),
    /** Shows the sign-in form for the open profile (after a 401 on its session). */
    askSignIn: () => {
      const profile = profiles.find((p) => p.name === session?.profile);
      if (profile) setReauth(profile);
    },
    signInAgain: (secret: string) => {
      const name = reauth?.name;
      if (name) void run(() => api.signInAgain(name, secret), name);
    },
  };
}
