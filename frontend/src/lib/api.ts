// The one fetch wrapper. Every request rides on the HttpOnly session cookie the
// server set: the SPA never sees, stores or sends a token itself.
import type { components, paths } from './api-schema';

/** The server's error codes (openapi.json's ErrorCode). */
export type ServerErrorCode = components['schemas']['ErrorCode'];

/**
 * What went wrong: one of the server's codes, or one this file gives when there
 * is no answer to read (network_error), the answer cannot be read (bad_response),
 * or it carries no code we know (unknown).
 */
export type ApiErrorCode = ServerErrorCode | 'network_error' | 'bad_response' | 'unknown';

// Every server code, once: the Record type fails to compile when openapi.json
// gains or loses one. A code outside it becomes 'unknown'.
const serverErrorCodes: Record<ServerErrorCode, true> = {
  unauthenticated: true,
  csrf_failed: true,
  forbidden: true,
  not_found: true,
  bad_request: true,
  method_not_allowed: true,
  payload_too_large: true,
  rate_limited: true,
  internal: true,
  upstream_unavailable: true,
  session_store_unavailable: true,
  identity_provider_unavailable: true,
};

/** An error answer from the server, or a failure to reach it (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;

  constructor(status: number, code: ApiErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The JSON body of a path's successful (200) answer, as the OpenAPI document says. */
export type ResponseBody<
  P extends keyof paths,
  M extends keyof paths[P],
> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer T } } };
}
  ? T
  : never;

/** The paths whose GET answers 200 with JSON, per the OpenAPI document. */
export type GetPath = {
  [P in keyof paths]: ResponseBody<P, 'get'> extends never ? never : P;
}[keyof paths];

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  method?: Method;
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * GETs one of the OpenAPI document's paths and resolves its 200 answer, typed
 * from the document: a path it does not list, or a use of the answer as another
 * type, does not compile.
 */
export function get<P extends GetPath>(path: P, options: { signal?: AbortSignal } = {}): Promise<ResponseBody<P, 'get'>> {
  return api<ResponseBody<P, 'get'>>(path, { signal: options.signal });
}

/** Any call; GETs go through get, which knows their types. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  // The server refuses calls without this header (docs/DESIGN.md, "CSRF"): unsafe methods
  // everywhere, and every method of the remote APIs. A cross-site form cannot set it, and
  // no CORS is allowed, so a cross-site fetch cannot either.
  const headers: Record<string, string> = { Accept: 'application/json', 'X-CSRF': '1' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'We could not reach the server. Check your connection and try again.');
  }

  if (!response.ok) throw await toApiError(response);
  if (response.status === 204) return undefined as T;

  const text = await response.text();
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(response.status, 'bad_response', 'The server sent an answer we could not read.');
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (isErrorBody(body)) return new ApiError(response.status, serverErrorCode(body.error), body.message);
  return new ApiError(response.status, 'unknown', `The server answered with status ${response.status}.`);
}

function isErrorBody(body: unknown): body is { error: string; message: string } {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { error?: unknown }).error === 'string' &&
    typeof (body as { message?: unknown }).message === 'string'
  );
}

function serverErrorCode(code: string): ApiErrorCode {
  return Object.hasOwn(serverErrorCodes, code) ? (code as ServerErrorCode) : 'unknown';
}

export function isApiError(err: unknown, status?: number): err is ApiError {
  return err instanceof ApiError && (status === undefined || err.status === status);
}
