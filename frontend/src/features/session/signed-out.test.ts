import { describe, expect, it } from 'vitest';
import { markSignedOut } from './signed-out';

describe('markSignedOut', () => {
  it.each([
    ['/', '/#signed-out'],
    ['https://acme.scalekit.dev/oidc/logout?id_token_hint=x&post_logout_redirect_uri=https%3A%2F%2Fapp%2F', 'https://acme.scalekit.dev/oidc/logout?id_token_hint=x&post_logout_redirect_uri=https%3A%2F%2Fapp%2F#signed-out'],
    ['https://idp.example/logout#old', 'https://idp.example/logout#signed-out'],
  ])('markSignedOut(%s)', (url, want) => {
    expect(markSignedOut(url)).toBe(want);
  });
});
