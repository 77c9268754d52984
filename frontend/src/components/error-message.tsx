import { ApiError } from '../lib/api';

interface ErrorMessageProps {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}

/** Says what failed in words for a person; never a stack or a raw server body. */
export function ErrorMessage({ error, title = 'Something went wrong', onRetry }: ErrorMessageProps) {
  const message =
    error instanceof ApiError ? error.message : 'An unexpected error occurred. Please try again.';
  return (
    <div className="notice notice-error" role="alert">
      <p className="notice-title">{title}</p>
      <p>{message}</p>
      {onRetry && (
        <button type="button" className="button button-secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
