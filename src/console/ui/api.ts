import type { Exposure } from '../queue/card.js';

export interface SessionUser {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly via: 'password' | 'proxy';
  readonly wellness: {
    readonly blurSigma: number;
    readonly greyscaleRevealed: boolean;
    readonly warnBeforeOriginals: boolean;
    readonly exposureBudget: number;
  };
}

export interface SessionInfo {
  readonly authenticated: boolean;
  readonly user?: SessionUser;
  readonly csrfToken: string;
  readonly passwordLogin?: boolean;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The token every state-changing request repeats in its header (the server's synchronizer token). */
let csrfToken = '';

export async function loadSession(): Promise<SessionInfo> {
  const s = (await getJson('/api/session')) as SessionInfo;
  csrfToken = s.csrfToken;
  return s;
}

export async function getJson(path: string): Promise<unknown> {
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

/** POST as JSON with the CSRF header; returns the raw response for image bodies. */
export async function post(path: string, body: unknown = {}): Promise<Response> {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  return res;
}

export async function postJson(path: string, body: unknown = {}): Promise<unknown> {
  return (await post(path, body)).json();
}

export async function login(username: string, password: string): Promise<SessionInfo> {
  const s = (await postJson('/api/login', { username, password })) as SessionInfo;
  csrfToken = s.csrfToken;
  return s;
}

export function exposureFromHeaders(res: Response, shiftEndsAt: string): Exposure | undefined {
  const used = Number(res.headers.get('x-exposure-used'));
  const budget = Number(res.headers.get('x-exposure-budget'));
  return Number.isFinite(used) && Number.isFinite(budget) ? { used, budget, shiftEndsAt } : undefined;
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: string; message?: string };
    return new ApiError(res.status, body.error ?? 'error', body.message ?? res.statusText);
  } catch {
    return new ApiError(res.status, 'error', res.statusText);
  }
}
