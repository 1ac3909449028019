import type { BrowserContext } from 'playwright-core';

/** Node-side requests carrying a browser context's cookies: what a script (or an attacker's page) could send. */
export async function cookieHeader(context: BrowserContext): Promise<string> {
  return (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
}

export async function csrfToken(baseUrl: string, cookie: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/session`, { headers: { cookie } });
  return ((await res.json()) as { csrfToken: string }).csrfToken;
}

/** A same-origin JSON POST as the console's own page sends it (token and JSON, no cross-site markers). */
export async function postAs(
  baseUrl: string,
  context: BrowserContext,
  path: string,
  body: unknown = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const cookie = await cookieHeader(context);
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: {
      cookie,
      'content-type': 'application/json',
      'x-csrf-token': await csrfToken(baseUrl, cookie),
      'sec-fetch-site': 'same-origin',
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // image bodies
  }
  return { status: res.status, json };
}
