import { DemoApiCard } from '../../features/demo-api/components/demo-api-card';
import { ProfileCard } from '../../features/profile/components/profile-card';
import { RequireAuth } from '../../features/session/components/require-auth';

export function DashboardRoute() {
  return (
    <>
      <title>Dashboard · Scalekit BFF</title>
      {/* Inside RequireAuth: when the session ends, the banner replaces the whole page. */}
      <RequireAuth>
        <h1>Dashboard</h1>
        <ProfileCard />
        <DemoApiCard />
      </RequireAuth>
    </>
  );
}
