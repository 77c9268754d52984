import { queryOptions, useQuery } from '@tanstack/react-query';
import { get, type ResponseBody } from '../../lib/api';

export type Me = ResponseBody<'/api/me', 'get'>;

export function getMe(signal?: AbortSignal): Promise<Me> {
  return get('/api/me', { signal });
}

export function meQueryOptions() {
  return queryOptions({
    queryKey: ['me'],
    queryFn: ({ signal }) => getMe(signal),
  });
}

export function useMe() {
  return useQuery(meQueryOptions());
}
