import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get, isApiError, type ResponseBody } from '../../lib/api';

export type SessionSummary = ResponseBody<'/api/sessions', 'get'>[number];

const sessionsQueryKey = ['sessions'] as const;

export function getSessions(signal?: AbortSignal): Promise<SessionSummary[]> {
  return get('/api/sessions', { signal });
}

export function sessionsQueryOptions() {
  return queryOptions({
    queryKey: sessionsQueryKey,
    queryFn: ({ signal }) => getSessions(signal),
    staleTime: 0,
    select: sortCurrentFirst,
  });
}

export function useSessions() {
  return useQuery(sessionsQueryOptions());
}

function sortCurrentFirst(sessions: SessionSummary[]): SessionSummary[] {
  return [...sessions].sort((a, b) => {
    if (a.current !== b.current) return a.current ? -1 : 1;
    return Date.parse(b.lastSeenAt) - Date.parse(a.lastSeenAt);
  });
}

export async function revokeSession(id: string): Promise<void> {
  try {
    await api<void>(`/api/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
  } catch (err) {
    // Already gone (expired, or revoked from another device): the goal is met.
    if (isApiError(err, 404)) return;
    throw err;
  }
}

export function revokeOtherSessions(): Promise<void> {
  return api<void>('/api/sessions', { method: 'DELETE' });
}

// Both mutations refresh the list from the server whatever the outcome, so the
// page shows what is true now without a reload.
export function useRevokeSession() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: revokeSession,
    onSettled: () => queryClient.invalidateQueries({ queryKey: sessionsQueryKey }),
  });
}

export function useRevokeOtherSessions() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: revokeOtherSessions,
    onSettled: () => queryClient.invalidateQueries({ queryKey: sessionsQueryKey }),
  });
}
