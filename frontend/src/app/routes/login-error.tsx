import { Link, useSearchParams } from 'react-router';
import type { components } from '../../lib/api-schema';
import { loginUrl } from '../../lib/return-to';

type LoginErrorCode = components['schemas']['LoginErrorCode'];
interface Message {
  title: string;
  text: string;
}

// The server redirects failed logins here with ?error=<code>. Only these known
// codes are ever shown; anything else in the URL is treated as "unknown" and
// never rendered, so a crafted link cannot put words on this page.
// One message for every code the OpenAPI document lists (the type checks it), and one for the rest.
const messages: Record<LoginErrorCode | 'unknown', Message> = {
  access_denied: {
    title: 'Sign-in was cancelled',
    text: 'The sign-in was cancelled or access was denied. You can try again, or pick a different account.',
  },
  not_a_member: {
    title: 'You are not a member of that organization',
    text: 'Your account does not belong to the organization you asked for, so you were not signed in to it. Ask one of its administrators for an invitation, or choose another organization.',
  },
  invalid_idp_initiated_login: {
    title: 'We could not verify that sign-in',
    text: 'The sign-in from your company’s identity provider was not valid or has expired. Open the app from your identity provider again, or sign in here.',
  },
  bad_request: {
    title: 'That sign-in link is not valid',
    text: 'The link that started the sign-in carried something we cannot use. Please start again from the app.',
  },
  invalid_state: {
    title: 'Your sign-in link has expired',
    text: 'The sign-in took too long, was already used, or was started in another browser. Please start again.',
  },
  login_failed: {
    title: 'We could not sign you in',
    text: 'Something went wrong while completing your sign-in. Please try again.',
  },
  identity_provider_unavailable: {
    title: 'The sign-in service is unavailable',
    text: 'We could not reach the sign-in service. Please try again in a few minutes.',
  },
  session_store_unavailable: {
    title: 'We could not start your session',
    text: 'Our session service is temporarily unavailable. Please try again in a few minutes.',
  },
  rate_limited: {
    title: 'Too many sign-in attempts',
    text: 'There were too many sign-in attempts from your network in a short time. Please wait a moment and try again.',
  },
  unknown: {
    title: 'Something went wrong',
    text: 'An unexpected error stopped your sign-in. Please try again.',
  },
};

type Code = keyof typeof messages;

export function errorCode(value: string | null): Code {
  return value !== null && Object.hasOwn(messages, value) ? (value as Code) : 'unknown';
}

export function LoginErrorRoute() {
  const [params] = useSearchParams();
  const code = errorCode(params.get('error'));
  const { title, text } = messages[code];
  return (
    <>
      <title>Sign-in problem · Scalekit BFF</title>
      <section className="card" aria-labelledby="login-error-heading">
        <h1 id="login-error-heading">{title}</h1>
        <p>{text}</p>
        <p className="muted">
          Error code: <code>{code}</code>
        </p>
        <div className="actions">
          <a className="button button-primary" href={loginUrl({ returnTo: '/dashboard' })}>
            Try again
          </a>
          <Link className="button button-secondary" to="/">
            Back to the home page
          </Link>
        </div>
      </section>
    </>
  );
}
