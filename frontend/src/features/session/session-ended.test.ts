import { MutationObserver, type QueryClient } from '@tanstack/react-query';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// The module keeps this tab's state, so each test loads it afresh, with the
// query client the app builds (app/query-client.ts) wired to it.
let ended: typeof import('./session-ended');
let client: QueryClient;
let ApiError: typeof import('../../lib/api').ApiError;
let keys: typeof import('./api');
const otherTab = new BroadcastChannel('session');

beforeEach(async () => {
  vi.resetModules();
  ended = await import('./session-ended');
  ({ ApiError } = await import('../../lib/api'));
  keys = await import('./api');
  client = (await import('../../app/query-client')).createQueryClient();
});

afterEach(() => {
  client.clear();
  otherTab.onmessage = null;
});

function answer(key: readonly string[], data: unknown) {
  return client.fetchQuery({ queryKey: key, queryFn: () => Promise.resolve(data), staleTime: 0 });
}

describe('session-ended', () => {
  it('a 401 from a query or a mutation ends the session', async () => {
    await expect(
      client.fetchQuery({ queryKey: ['me'], queryFn: () => Promise.reject(new ApiError(401, 'unauthenticated', 'x')) }),
    ).rejects.toBeInstanceOf(ApiError);
    expect(ended.endReason()).toBe('expired');
  });

  it('other errors do not', async () => {
    const failing = new MutationObserver(client, {
      mutationFn: () => Promise.reject(new ApiError(503, 'session_store_unavailable', 'x')),
    });
    await expect(failing.mutate()).rejects.toBeInstanceOf(ApiError);
    expect(ended.endReason()).toBeNull();
  });

  it('/api/session turning unauthenticated ends it; a first visit does not', async () => {
    await answer(keys.sessionQueryKey, { authenticated: false });
    expect([ended.endReason(), ended.wasSignedIn()]).toEqual([null, false]);
    await answer(keys.sessionQueryKey, { authenticated: true });
    expect([ended.endReason(), ended.wasSignedIn()]).toEqual([null, true]);
    await answer(keys.sessionQueryKey, { authenticated: false });
    expect(ended.endReason()).toBe('expired');
  });

  it('a sign-out here is announced to the other tabs', async () => {
    const heard = new Promise((resolve) => (otherTab.onmessage = (event) => resolve(event.data)));
    const signOut = new MutationObserver(client, {
      mutationKey: keys.signOutMutationKey,
      mutationFn: () => Promise.resolve({ logoutUrl: '/' }),
    });
    await signOut.mutate();
    await expect(heard).resolves.toEqual({ type: 'signed-out' });
    expect(ended.endReason()).toBeNull(); // this tab is leaving for the provider's logout page
  });

  it('a sign-out in another tab ends this one and forgets the user', async () => {
    const stop = ended.followOtherTabs(client);
    await answer(['me'], { user: { id: 'usr_1' } });
    otherTab.postMessage({ type: 'signed-out' });
    await vi.waitFor(() => expect(ended.endReason()).toBe('signed-out'));
    expect(client.getQueryData(['me'])).toBeUndefined();
    expect(client.getQueryData(keys.sessionQueryKey)).toEqual({ authenticated: false });
    stop();
  });
});
