/**
 * The agent's HTTP API, from the page (same origin: the agent serves the console). The bearer token
 * lives in sessionStorage only: never in a URL, never logged, gone when the tab closes.
 */
import { ApiErrorBody, parseErrorBody } from './model';

export interface TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

const TOKEN_KEY = 'pra-kit.backup-token';

export function sessionTokenStore(storage: Storage): TokenStore {
  return {
    get: () => storage.getItem(TOKEN_KEY),
    set: (token) => storage.setItem(TOKEN_KEY, token),
    clear: () => storage.removeItem(TOKEN_KEY),
  };
}

/** An error answer of the agent (or no answer: status 0), with its sentence for a person. */
export class ApiError extends Error {
  constructor(readonly body: ApiErrorBody) {
    super(body.message);
    this.name = 'ApiError';
  }
  get status(): number {
    return this.body.statusCode;
  }
}

export interface Answer<T> {
  readonly status: number;
  readonly json: T;
  /** The agent's Date header (whole seconds), in ms; null when absent. */
  readonly date: number | null;
  /** The browser's clock when the answer arrived. */
  readonly receivedAt: number;
}

export class AgentClient {
  constructor(
    private readonly fetchImpl: typeof fetch,
    readonly tokens: TokenStore,
  ) {}

  /** GET; a 404 answers null when `optional` (a route an older agent does not have). */
  async get<T = unknown>(path: string, options: { optional?: boolean } = {}): Promise<Answer<T> | null> {
    const res = await this.send('GET', path, false);
    if (res.status === 404 && options.optional) return null;
    return this.read<T>(res);
  }

  /** POST to a route that needs the bearer token (when the agent has one). */
  async post<T = unknown>(path: string): Promise<Answer<T>> {
    return (await this.read<T>(await this.send('POST', path, true))) as Answer<T>;
  }

  private async send(method: string, path: string, auth: boolean): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = auth ? this.tokens.get() : null;
    if (token) headers['Authorization'] = `Bearer ${token}`;
    try {
      return await this.fetchImpl(path, { method, headers, cache: 'no-store', credentials: 'omit' });
    } catch {
      throw new ApiError({
        statusCode: 0,
        code: 'AGENT_UNREACHABLE',
        message:
          'the agent did not answer: is it running? (make dev locally; make forward for the cluster, then reload)',
      });
    }
  }

  private async read<T>(res: Response): Promise<Answer<T>> {
    const text = await res.text();
    if (!res.ok) throw new ApiError(parseErrorBody(res.status, text));
    let json: T;
    try {
      json = JSON.parse(text) as T;
    } catch {
      throw new ApiError(parseErrorBody(res.status, text));
    }
    const date = Date.parse(res.headers.get('date') ?? '');
    return { status: res.status, json, date: Number.isNaN(date) ? null : date, receivedAt: Date.now() };
  }
}
