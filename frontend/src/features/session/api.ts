import { queryOptions, useMutation, useQuery } from '@tanstack/react-query';
import { api, get, type ResponseBody } from '../../lib/api';
import { markSignedOut } from './signed-out';

export type SessionState = ResponseBody<'/api/session', 'get'>;
export type Logout = ResponseBody<'/auth/logout', 'post'>;

export const sessionQueryKey = ['session'] as const;
export const signOutMutationKey = ['sign-out'] as const;

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
 * Ends the server session, then leaves for the provider's logout page (a
 * top-level navigation: the only way to end the provider's own session too),
 * which returns to the landing page saying so. This browser's other tabs hear
 * of it first (see session-ended.ts).
 */
export function useSignOut() {
  return useMutation({
    mutationKey: signOutMutationKey,
    mutationFn: signOut,
    onSuccess: ({ logoutUrl }) => {
      window.location.assign(markSignedOut(logoutUrl));
    },
  });
}
