import { describe, expect, it } from 'vitest';
import { parseCompanyInput } from './company-input';

describe('parseCompanyInput', () => {
  it.each([
    ['jane@acme.test', { loginHint: 'jane@acme.test' }],
    ['  jane@acme.test ', { loginHint: 'jane@acme.test' }],
    ['org_acme', { organizationId: 'org_acme' }],
    ['org_123ABC', { organizationId: 'org_123ABC' }],
  ])('%j', (input, want) => {
    expect(parseCompanyInput(input)).toEqual(want);
  });

  it.each(['', 'acme', 'org_', 'org_acme inc', 'jane@', 'https://evil.test'])('rejects %j', (input) => {
    expect(parseCompanyInput(input)).toBeNull();
  });
});
