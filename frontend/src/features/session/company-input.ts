import type { LoginParams } from '../../lib/return-to';

// B2B single sign-on: a company email lets the provider route to the company's
// identity provider (login_hint); an organization id picks the organization directly.
export function parseCompanyInput(value: string): LoginParams | null {
  const input = value.trim();
  if (/^org_[A-Za-z0-9_-]+$/.test(input)) return { organizationId: input };
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input)) return { loginHint: input };
  return null;
}
