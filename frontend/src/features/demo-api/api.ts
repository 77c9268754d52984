import { queryOptions, useQuery } from '@tanstack/react-query';
import { get, type ResponseBody } from '../../lib/api';

// The demo API is a remote API (REMOTE_APIS): the BFF calls it with the user's access
// token. The zero-configuration server routes /api/demo to it; elsewhere it is absent.
export type DemoHello = ResponseBody<'/api/demo/hello', 'get'>;

export function getDemoHello(signal?: AbortSignal): Promise<DemoHello> {
  return get('/api/demo/hello', { signal });
}

export function demoHelloQueryOptions() {
  return queryOptions({
    queryKey: ['demo-api', 'hello'],
    queryFn: ({ signal }) => getDemoHello(signal),
    staleTime: 0,
  });
}

export function useDemoHello() {
  return useQuery(demoHelloQueryOptions());
}
