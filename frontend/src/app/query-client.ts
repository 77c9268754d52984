import { MutationCache, QueryCache, QueryClient, type Query } from '@tanstack/react-query';
import { ApiError, isApiError } from '../lib/api';
import { sessionQueryKey, type SessionState } from '../features/session/api';
import { endSession, hasBeenAuthenticated, noteAuthenticated } from '../features/session/session-ended';

/** A 4xx will not change on retry (and a 401 must not be hammered); network errors and 5xx may. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}

// Only the BFF's own 401 ends the session: a remote API's upstream may answer 401 for
// reasons of its own, with another body, which the page shows as an error instead.
export function endsSession(error: unknown): boolean {
  return isApiError(error, 401) && error.code === 'unauthenticated';
}

function onError(error: unknown): void {
  if (endsSession(error)) endSession('expired');
}

function isSessionQuery(query: Query<unknown, unknown, unknown>): boolean {
  return query.queryKey[0] === sessionQueryKey[0];
}

// /api/session answers 200 either way, so a session that ended shows up as
// "authenticated: false" after having been true in this tab.
function onSuccess(data: unknown, query: Query<unknown, unknown, unknown>): void {
  if (!isSessionQuery(query)) return;
  if ((data as SessionState).authenticated) noteAuthenticated();
  else if (hasBeenAuthenticated()) endSession('expired');
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError, onSuccess }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: { retry: shouldRetry, staleTime: 30_000 },
      mutations: { retry: false },
    },
  });
}
