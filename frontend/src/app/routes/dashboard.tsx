import { ProfileCard } from '../../features/profile/components/profile-card';
import { RequireAuth } from '../../features/session/components/require-auth';

export function DashboardRoute() {
  return (
    <>
      <title>Dashboard · Scalekit BFF</title>
      <h1>Dashboard</h1>
      <RequireAuth>
        <ProfileCard />
      </RequireAuth>
    </>
  );
}
