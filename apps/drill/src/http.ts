/** Small fetch helpers with timeouts: a drill talks to services that are, by design, failing. */

export interface HttpResult<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    url: string,
  ) {
    super(`${url} answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
  }
}

/** Sends a request; resolves with status and parsed body; rejects only on network errors/timeouts. */
export async function http<T = unknown>(
  url: string,
  options: { method?: string; token?: string; timeoutMs?: number } = {},
): Promise<HttpResult<T>> {
  const res = await fetch(url, {
    method: options.method ?? 'GET',
    headers: options.token ? { Authorization: `Bearer ${options.token}` } : {},
    signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: body as T };
}

/** Like http(), but any non-2xx is an HttpError. */
export async function httpOk<T = unknown>(
  url: string,
  options: { method?: string; token?: string; timeoutMs?: number } = {},
): Promise<T> {
  const res = await http<T>(url, options);
  if (res.status < 200 || res.status > 299) throw new HttpError(res.status, res.body, url);
  return res.body;
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; onWait?: (elapsedMs: number) => void },
): Promise<T> {
  const start = Date.now();
  let lastReport = start;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    const now = Date.now();
    if (now - start > options.timeoutMs)
      throw new Error(`timed out after ${options.timeoutMs / 1000}s waiting for ${what}`);
    if (options.onWait && now - lastReport >= 2000) {
      lastReport = now;
      options.onWait(now - start);
    }
    await sleep(options.intervalMs ?? 100);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
