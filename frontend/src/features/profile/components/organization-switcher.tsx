import { useEffect, useId, useRef, useState } from 'react';
import { useLocation } from 'react-router';
import { currentPath, switchOrganizationUrl } from '../../../lib/return-to';
import { useMe } from '../api';

/**
 * The current organization's name, as a button that opens the organizations to
 * switch to. Each switch is a full-page trip through the server (a new sign-in
 * at Scalekit with organization_id and prompt=select_account) that comes back
 * to this page. Without a known list, one link opens Scalekit's own picker.
 */
export function OrganizationSwitcher() {
  const me = useMe();
  const location = useLocation();
  const [open, setOpen] = useState(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuId = useId();

  // Close on a click elsewhere, and on Escape (focus goes back to the button).
  useEffect(() => {
    if (!open) return;
    const onPointerDown = (event: PointerEvent) => {
      if (!rootRef.current?.contains(event.target as Node)) setOpen(false);
    };
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        setOpen(false);
        buttonRef.current?.focus();
      }
    };
    document.addEventListener('pointerdown', onPointerDown);
    document.addEventListener('keydown', onKeyDown);
    return () => {
      document.removeEventListener('pointerdown', onPointerDown);
      document.removeEventListener('keydown', onKeyDown);
    };
  }, [open]);

  const organization = me.data?.organization;
  if (!organization) return null;
  const returnTo = currentPath(location);
  const others = (me.data?.organizations ?? []).filter((o) => o.id !== organization.id);

  return (
    <div className="org-switcher" ref={rootRef}>
      <button
        ref={buttonRef}
        type="button"
        className="org-switcher-button"
        aria-expanded={open}
        aria-controls={menuId}
        onClick={() => setOpen((was) => !was)}
      >
        <span className="visually-hidden">Organization: </span>
        <span className="org-name">{organization.name}</span>
        <span className="org-chevron" aria-hidden="true">
          ▾
        </span>
      </button>
      <div id={menuId} className="org-menu" hidden={!open}>
        <p className="org-menu-current">
          Signed in to <strong>{organization.name}</strong>
        </p>
        {others.length > 0 ? (
          <ul aria-label="Switch to">
            {others.map((o) => (
              <li key={o.id}>
                <a href={switchOrganizationUrl(returnTo, o.id)}>{o.name}</a>
              </li>
            ))}
          </ul>
        ) : (
          <a href={switchOrganizationUrl(returnTo)}>Switch organization</a>
        )}
      </div>
    </div>
  );
}
