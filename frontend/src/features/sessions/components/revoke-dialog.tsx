import { ConfirmDialog } from '../../../components/confirm-dialog';
import { useRevokeOtherSessions, useRevokeSession } from '../api';

/** What the person asked to sign out: one device, or every other one. */
export type RevokeTarget = { kind: 'one'; id: string; device: string } | { kind: 'others' };

/**
 * Asks before signing a device (or all others) out, and does it. Open while
 * target is set; onDone reports what was signed out, onCancel a change of mind.
 */
export function RevokeDialog({
  target,
  othersCount,
  onDone,
  onCancel,
}: {
  target: RevokeTarget | null;
  othersCount: number;
  onDone: (status: string) => void;
  onCancel: () => void;
}) {
  const revokeOne = useRevokeSession();
  const revokeOthers = useRevokeOtherSessions();
  const mutation = target?.kind === 'others' ? revokeOthers : revokeOne;

  function reset() {
    revokeOne.reset();
    revokeOthers.reset();
  }

  function confirm() {
    if (target === null) return;
    const done = (status: string) => () => {
      reset();
      onDone(status);
    };
    if (target.kind === 'one') {
      revokeOne.mutate(target.id, { onSuccess: done(`Signed out ${target.device}.`) });
    } else {
      revokeOthers.mutate(undefined, { onSuccess: done('Signed out all other devices.') });
    }
  }

  return (
    <ConfirmDialog
      open={target !== null}
      title={target?.kind === 'others' ? 'Sign out all other devices?' : 'Sign out this device?'}
      confirmLabel="Sign out"
      pendingLabel="Signing out…"
      pending={mutation.isPending}
      onConfirm={confirm}
      onCancel={() => {
        reset();
        onCancel();
      }}
    >
      <p>
        {target?.kind === 'one'
          ? `${target.device} will be signed out at its next request.`
          : `Every session except this one will be signed out (${othersCount} in all).`}
      </p>
      {mutation.isError && (
        <p className="inline-error" role="alert">
          {mutation.error.message}
        </p>
      )}
    </ConfirmDialog>
  );
}
