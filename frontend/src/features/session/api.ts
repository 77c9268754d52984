import { queryOptions, useMutation, useQuery } from '@tanstack/react-query';
import { api, get, type ResponseBody } from '../../lib/api';
import { announceSignedOut } from './broadcast';
import { markSignedOut } from './signed-out';

export type SessionState = ResponseBody<'/api/session', 'get'>;
export type Logout = ResponseBody<'/auth/logout', 'post'>;

export const sessionQueryKey = ['session'] as const;

export function getSession(signal?: AbortSignal): Promise<SessionState> {
  return get('/api/session', { signal });
}

// Always 200, so the SPA can bootstrap without an error. Never stale for long: a
// tab coming back into view (or focus) re-checks it at once.
export function sessionQueryOptions() {
  return queryOptions({
    queryKey: sessionQueryKey,
    queryFn: ({ signal }) => getSession(signal),
    staleTime: 0,
    refetchOnWindowFocus: true,
  });
}

export function useSession() {
  return useQuery(sessionQueryOptions());
}

export function signOut(): Promise<Logout> {
  return api<Logout>('/auth/logout', { method: 'POST' });
}

/**
 * Ends the server session, tells this browser's other tabs, then leaves for the
 * provider's logout page (a top-level navigation: the only way to end the
 * provider's own session too), which returns to the landing page saying so.
 */
export function useSignOut() {
  return useMutation({
    mutationFn: signOut,
    onSuccess: ({ logoutUrl }) => {
      announceSignedOut();
      window.location.assign(markSignedOut(logoutUrl));
    },
  });
}
