import { useSignOut } from '../api';

export function SignOutButton() {
  const signOut = useSignOut();
  // Once the server answers, the page is already leaving for the provider's logout.
  const busy = signOut.isPending || signOut.isSuccess;
  return (
    <>
      <button
        type="button"
        className="button button-secondary"
        onClick={() => signOut.mutate()}
        disabled={busy}
      >
        {busy ? 'Signing out…' : 'Sign out'}
      </button>
      {signOut.isError && (
        <p className="inline-error" role="alert">
          Sign-out failed: {signOut.error.message}
        </p>
      )}
    </>
  );
}
