import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { ApiError, toApiError } from './errors';

const TOKEN_KEY = 'shoal.token';

let unauthorizedHandler: ((message: string) => void) | null = null;

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Called with the server's message whenever a request answers 401 (the token went bad). */
export function onUnauthorized(handler: ((message: string) => void) | null): void {
  unauthorizedHandler = handler;
}

function authHeaders(token = getToken()): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function readError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.clone().json();
  } catch {
    body = null;
  }
  return toApiError(response.status, body, response.statusText);
}

async function signalUnauthorized(response: Response): Promise<void> {
  if (response.status !== 401 || !unauthorizedHandler) return;
  const err = await readError(response);
  unauthorizedHandler(err.message);
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  async onResponse({ response }) {
    await signalUnauthorized(response);
    return response;
  },
};

export const client = createClient<paths>({ baseUrl: '' });
client.use(auth);

/** The data of an openapi-fetch answer, or throw its error as an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: unknown; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response.status, error, response.statusText);
  return data as T;
}

/**
 * fetch() with the token, for what openapi-fetch does not fit: text bodies and event streams.
 * Throws an ApiError for any non-2xx answer.
 */
export async function rawFetch(path: string, init: RequestInit = {}, token?: string): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(authHeaders(token ?? getToken()))) headers.set(k, v);
  const response = await fetch(path, { ...init, headers });
  if (!response.ok) {
    if (token === undefined) await signalUnauthorized(response);
    throw await readError(response);
  }
  return response;
}

export function projectPath(project: string, ...rest: (string | number)[]): string {
  return ['/api/v1/projects', project, ...rest].map((s) => (s === '/api/v1/projects' ? s : encodeURIComponent(String(s)))).join('/');
}
