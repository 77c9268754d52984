import { describe, expect, it } from 'vitest';
import { currentPath, loginUrl, signupUrl, switchOrganizationUrl } from './return-to';

describe('login links', () => {
  it('carries returnTo, login_hint and organization_id, encoded', () => {
    expect(loginUrl({ returnTo: '/sessions?tab=a&b=c' })).toBe('/auth/login?returnTo=%2Fsessions%3Ftab%3Da%26b%3Dc');
    expect(loginUrl({ returnTo: '/dashboard', loginHint: 'a+b@acme.test' })).toBe(
      '/auth/login?returnTo=%2Fdashboard&login_hint=a%2Bb%40acme.test',
    );
    expect(loginUrl({ organizationId: 'org_acme' })).toBe('/auth/login?organization_id=org_acme');
    expect(signupUrl()).toBe('/auth/signup');
  });

  it('switches organization through the picker, directly when the organization is known', () => {
    expect(switchOrganizationUrl('/sessions?x=1', 'org_globex')).toBe(
      '/auth/login?organization_id=org_globex&prompt=select_account&returnTo=%2Fsessions%3Fx%3D1',
    );
    expect(switchOrganizationUrl('/dashboard')).toBe('/auth/login?prompt=select_account&returnTo=%2Fdashboard');
  });

  it('builds the current path from pathname and search', () => {
    expect(currentPath({ pathname: '/sessions', search: '?x=1' })).toBe('/sessions?x=1');
  });

  it('never hands on a path that names another host', () => {
    // What the browser's address bar holds after /.//evil.example or /%2e%2e//evil.example.
    for (const pathname of ['//evil.example', '///evil.example', '/\\evil.example', '/a\\b', 'evil.example']) {
      expect(currentPath({ pathname, search: '?x=1' })).toBe('/');
    }
  });
});
