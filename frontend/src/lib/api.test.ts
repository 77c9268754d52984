import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { api, ApiError, get, type GetPath, type ResponseBody } from './api';

const fetchMock = vi.fn<typeof fetch>();

beforeEach(() => {
  vi.stubGlobal('fetch', fetchMock);
});

afterEach(() => {
  vi.unstubAllGlobals();
  fetchMock.mockReset();
});

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

function sentInit(): RequestInit {
  const init = fetchMock.mock.calls[0]?.[1];
  if (!init) throw new Error('fetch was not called');
  return init;
}

function sentHeaders(): Record<string, string> {
  return sentInit().headers as Record<string, string>;
}

describe('get', () => {
  it('GETs a path of the OpenAPI document and resolves its answer', async () => {
    fetchMock.mockResolvedValue(json(200, { authenticated: false }));
    const session = await get('/api/session');
    expect(session.authenticated).toBe(false);
    expect(fetchMock.mock.calls[0]?.[0]).toBe('/api/session');
    expect(sentInit().method).toBe('GET');
  });

  it('ties each path to its answer type', async () => {
    expectTypeOf<GetPath>().toEqualTypeOf<
      '/api/me' | '/api/session' | '/api/sessions' | '/api/demo/hello' | '/healthz' | '/readyz'
    >();
    fetchMock.mockImplementation(async () => json(200, {}));
    expectTypeOf(get('/api/me')).resolves.toEqualTypeOf<ResponseBody<'/api/me', 'get'>>();
    // @ts-expect-error not a path the OpenAPI document lists
    await get('/api/nothing');
    // @ts-expect-error only GETs: /auth/logout is a POST
    await get('/auth/logout');
    // @ts-expect-error /api/me answers the user, not a list of sessions
    const sessions: ResponseBody<'/api/sessions', 'get'> = await get('/api/me');
    expect(sessions).toEqual({});
  });
});

describe('api', () => {
  it('sends the cookie same-origin and parses JSON', async () => {
    fetchMock.mockResolvedValue(json(200, { authenticated: false }));
    await expect(api('/api/session')).resolves.toEqual({ authenticated: false });
    expect(fetchMock.mock.calls[0]?.[0]).toBe('/api/session');
    expect(sentInit().credentials).toBe('same-origin');
    expect(sentInit().method).toBe('GET');
  });

  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const)('sends X-CSRF: 1 on %s', async (method) => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
    await api('/api/sessions', { method });
    expect(sentHeaders()['X-CSRF']).toBe('1');
    expect(sentInit().method).toBe(method);
  });

  it('sends a JSON body with its content type', async () => {
    fetchMock.mockResolvedValue(json(200, { ok: true }));
    await api('/api/things', { method: 'POST', body: { a: 1 } });
    expect(sentInit().body).toBe('{"a":1}');
    expect(sentHeaders()['Content-Type']).toBe('application/json');
  });

  it('resolves undefined for 204 and empty bodies', async () => {
    fetchMock.mockResolvedValueOnce(new Response(null, { status: 204 }));
    await expect(api('/api/sessions/x', { method: 'DELETE' })).resolves.toBeUndefined();
    fetchMock.mockResolvedValueOnce(new Response('', { status: 200 }));
    await expect(api('/api/sessions', { method: 'DELETE' })).resolves.toBeUndefined();
  });

  it('turns {error, message} into an ApiError', async () => {
    fetchMock.mockResolvedValue(json(401, { error: 'unauthenticated', message: 'Please sign in.' }));
    const err = await api('/api/me').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 401, code: 'unauthenticated', message: 'Please sign in.' });
  });

  it('maps a 503 session_store_unavailable', async () => {
    fetchMock.mockResolvedValue(
      json(503, { error: 'session_store_unavailable', message: 'Try again shortly.' }),
    );
    await expect(api('/api/me')).rejects.toMatchObject({ status: 503, code: 'session_store_unavailable' });
  });

  it('does not echo a non-JSON error body', async () => {
    fetchMock.mockResolvedValue(new Response('<h1>Bad Gateway</h1>', { status: 502 }));
    const err = await api('/api/me').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: 'unknown' });
    expect((err as ApiError).message).not.toContain('<h1>');
  });

  it('gives a code the OpenAPI document does not list as unknown, keeping the message', async () => {
    fetchMock.mockResolvedValue(json(418, { error: 'teapot', message: 'I am a teapot.' }));
    await expect(api('/api/me')).rejects.toMatchObject({ status: 418, code: 'unknown', message: 'I am a teapot.' });
  });

  it('types the code from the OpenAPI enum', () => {
    expectTypeOf<ApiError['code']>().toExtend<string>();
    expectTypeOf<'upstream_unavailable'>().toExtend<ApiError['code']>();
    // @ts-expect-error not a code of the server's or of this client's
    new ApiError(400, 'teapot', 'x');
  });

  it('ignores an error body of the wrong shape', async () => {
    fetchMock.mockResolvedValue(json(400, { error: 42 }));
    await expect(api('/api/me')).rejects.toMatchObject({ status: 400, code: 'unknown' });
  });

  it('reports a network failure as status 0', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    await expect(api('/api/me')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('lets an abort through unchanged', async () => {
    fetchMock.mockRejectedValue(new DOMException('aborted', 'AbortError'));
    await expect(api('/api/me')).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects an unreadable success body', async () => {
    fetchMock.mockResolvedValue(new Response('<!doctype html>', { status: 200 }));
    await expect(api('/api/me')).rejects.toMatchObject({ status: 200, code: 'bad_response' });
  });
});
