import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { ApiError } from '../lib/api';
import { onMutationSuccess, onRequestError, onQuerySuccess } from '../features/session/session-ended';

/** A 4xx will not change on retry (and a 401 must not be hammered); network errors and 5xx may. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}

// The caches tell features/session/session-ended.ts when the session ends.
export function createQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError: onRequestError, onSuccess: onQuerySuccess }),
    mutationCache: new MutationCache({ onError: onRequestError, onSuccess: onMutationSuccess }),
    defaultOptions: {
      queries: { retry: shouldRetry, staleTime: 30_000 },
      mutations: { retry: false },
    },
  });
}
