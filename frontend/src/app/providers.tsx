import { focusManager, QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';
import { sessionQueryKey, type SessionState } from '../features/session/api';
import { onSignedOutElsewhere } from '../features/session/broadcast';
import { endSession } from '../features/session/session-ended';
import { createQueryClient } from './query-client';

// Re-check the session when the tab becomes visible again (TanStack Query's
// default) and also when the window regains focus.
focusManager.setEventListener((handleFocus) => {
  const listener = () => handleFocus();
  window.addEventListener('visibilitychange', listener, false);
  window.addEventListener('focus', listener, false);
  return () => {
    window.removeEventListener('visibilitychange', listener);
    window.removeEventListener('focus', listener);
  };
});

function forgetUser(queryClient: QueryClient): void {
  queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== sessionQueryKey[0] });
  queryClient.setQueryData<SessionState>(sessionQueryKey, { authenticated: false });
}

export function AppProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(createQueryClient);

  useEffect(
    () =>
      onSignedOutElsewhere(() => {
        endSession('signed-out');
        forgetUser(queryClient);
      }),
    [queryClient],
  );

  return <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>;
}
