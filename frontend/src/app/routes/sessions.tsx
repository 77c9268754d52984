import { CurrentSession } from '../../features/session/components/current-session';
import { RequireAuth } from '../../features/session/components/require-auth';
import { SessionList } from '../../features/sessions/components/session-list';

export function SessionsRoute() {
  return (
    <>
      <title>Sessions · Scalekit BFF</title>
      {/* Inside RequireAuth: when the session ends, the banner replaces the whole page. */}
      <RequireAuth>
        <h1>Sessions</h1>
        <CurrentSession />
        <SessionList />
      </RequireAuth>
    </>
  );
}
