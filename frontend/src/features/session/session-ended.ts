import { useSyncExternalStore } from 'react';

// Whether this tab's session ended while it was open: an API call answered 401,
// /api/session stopped saying "authenticated", or another tab signed out. Kept
// outside the query cache so it survives the cache being cleared of user data.
export type EndReason = 'expired' | 'signed-out';

let reason: EndReason | null = null;
let seenAuthenticated = false;
const listeners = new Set<() => void>();

export function endSession(why: EndReason): void {
  if (reason !== null) return;
  reason = why;
  listeners.forEach((notify) => notify());
}

/** Records that this tab has been signed in, so a later "not signed in" means the session ended. */
export function noteAuthenticated(): void {
  seenAuthenticated = true;
}

export function hasBeenAuthenticated(): boolean {
  return seenAuthenticated;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useSessionEnded(): EndReason | null {
  return useSyncExternalStore(subscribe, () => reason);
}

/** For tests only. */
export function resetSessionEnded(): void {
  reason = null;
  seenAuthenticated = false;
  listeners.forEach((notify) => notify());
}
