import { useId, useState, type FormEvent } from 'react';
import { loginUrl } from '../../../lib/return-to';
import { parseCompanyInput } from '../company-input';

export function CompanySignInForm({ returnTo }: { returnTo: string }) {
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  const [error, setError] = useState<string | null>(null);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = new FormData(event.currentTarget).get('company');
    const params = parseCompanyInput(typeof value === 'string' ? value : '');
    if (params === null) {
      setError('Enter a work email such as jane@company.com, or an organization ID that starts with org_.');
      return;
    }
    setError(null);
    window.location.assign(loginUrl({ ...params, returnTo }));
  }

  return (
    <form className="company-form" onSubmit={onSubmit} noValidate aria-labelledby={`${inputId}-heading`}>
      <h2 id={`${inputId}-heading`}>Sign in with your company</h2>
      <label htmlFor={inputId}>Work email or organization ID</label>
      <p id={hintId} className="field-hint">
        For example jane@company.com or org_12345.
      </p>
      <div className="field-row">
        <input
          id={inputId}
          name="company"
          type="text"
          inputMode="email"
          autoComplete="email"
          autoCapitalize="none"
          spellCheck={false}
          aria-invalid={error !== null}
          aria-describedby={error ? `${hintId} ${errorId}` : hintId}
        />
        <button type="submit" className="button button-primary">
          Continue
        </button>
      </div>
      {error && (
        <p id={errorId} className="field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
