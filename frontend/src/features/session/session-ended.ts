import type { Mutation, Query, QueryClient } from '@tanstack/react-query';
import { useSyncExternalStore } from 'react';
import { isApiError } from '../../lib/api';
import { sessionQueryKey, signOutMutationKey, type SessionState } from './api';

// Whether this tab's session ended while it was open, and why: an API call
// answered 401, /api/session stopped saying "authenticated", or another tab of
// this browser signed out (tabs share the cookie, so a sign-out in one is a
// sign-out in all: they hear it at once, not at their next request). The
// state lives here, outside the query cache, so it survives the cache being
// cleared of the user's data.
//
// The whole API:
// - the query client reports to it: onRequestError and onQuerySuccess from its
//   QueryCache, onRequestError and onMutationSuccess from its MutationCache
//   (app/query-client.ts);
// - followOtherTabs(queryClient) listens to the other tabs (app/providers.tsx);
// - useSessionEnded() and wasSignedIn() tell the page what to show.
export type EndReason = 'expired' | 'signed-out';

let reason: EndReason | null = null;
let seenSignedIn = false;
const listeners = new Set<() => void>();

function end(why: EndReason): void {
  if (reason !== null) return;
  reason = why;
  listeners.forEach((notify) => notify());
}

/** Why this tab's session ended, or null while it lasts. */
export function endReason(): EndReason | null {
  return reason;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** endReason, re-rendering when the session ends. */
export function useSessionEnded(): EndReason | null {
  return useSyncExternalStore(subscribe, endReason);
}

/** Whether this tab has seen its visitor signed in: then "not signed in" means the session ended, not a first visit. */
export function wasSignedIn(): boolean {
  return seenSignedIn;
}

/**
 * The BFF's own 401 from any query or mutation: the session ended. A remote API's
 * upstream may answer 401 for reasons of its own, with another body; the page shows
 * that as an error instead.
 */
export function endsSession(error: unknown): boolean {
  return isApiError(error, 401) && error.code === 'unauthenticated';
}

export function onRequestError(error: unknown): void {
  if (endsSession(error)) end('expired');
}

/** /api/session answers 200 either way, so a session that ended shows as "authenticated: false" after true. */
export function onQuerySuccess(data: unknown, query: Query<unknown, unknown, unknown>): void {
  if (query.queryKey[0] !== sessionQueryKey[0]) return;
  if ((data as SessionState).authenticated) seenSignedIn = true;
  else if (seenSignedIn) end('expired');
}

// One channel per tab, so a tab never hears its own message.
const channelName = 'session';
type Message = { type: 'signed-out' };
let channel: BroadcastChannel | null = null;

function getChannel(): BroadcastChannel | null {
  if (typeof BroadcastChannel === 'undefined') return null;
  channel ??= new BroadcastChannel(channelName);
  return channel;
}

/** This tab signed out: tell the others. */
export function onMutationSuccess(
  _data: unknown,
  _variables: unknown,
  _context: unknown,
  mutation: Mutation<unknown, unknown, unknown, unknown>,
): void {
  if (mutation.options.mutationKey?.[0] !== signOutMutationKey[0]) return;
  getChannel()?.postMessage({ type: 'signed-out' } satisfies Message);
}

/**
 * Ends this tab's session when another tab signs out, and forgets the user's
 * data so the page no longer shows it. Returns the unsubscribe function.
 */
export function followOtherTabs(queryClient: QueryClient): () => void {
  const ch = getChannel();
  if (ch === null) return () => {};
  const listener = (event: MessageEvent<Message>) => {
    if (event.data?.type !== 'signed-out') return;
    end('signed-out');
    queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== sessionQueryKey[0] });
    queryClient.setQueryData<SessionState>(sessionQueryKey, { authenticated: false });
  };
  ch.addEventListener('message', listener);
  return () => ch.removeEventListener('message', listener);
}
