/**
 * The page's HTTP client of the API: JSON in and out, the tab's API key as a bearer token,
 * errors as {@link ApiError} carrying the registry's code (the contract's error body).
 */

/** An answer of the API that was not a success. */
export class ApiError extends Error {
  readonly status: number;
  /** The registry's code (`API_FORBIDDEN`, `SESSION_NOT_FOUND`...), or `NETWORK` when nothing answered. */
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(status: number, code: string, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Query values; undefined and empty strings are left out. */
export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

/** Builds `path?query` with the defined, non-empty values. */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === '') continue;
    params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** The headers of an API call: the key when there is one. */
export function authHeaders(key: string | undefined): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** What the client needs from the page. */
export interface ClientOptions {
  /** The tab's API key, read on every call (it may change). */
  readonly key: () => string | undefined;
  /** Told of a 401, so the page can ask for a key again. */
  readonly onUnauthenticated?: (error: ApiError) => void;
  /** @default the page's own origin */
  readonly baseUrl?: string;
}

export class ApiClient {
  readonly #options: ClientOptions;

  constructor(options: ClientOptions) {
    this.#options = options;
  }

  /** The current key (for streams, which make their own requests). */
  key(): string | undefined {
    return this.#options.key();
  }

  /** The absolute URL of an API path. */
  url(path: string): string {
    return `${this.#options.baseUrl ?? ''}${path}`;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.#call<T>('GET', withQuery(path, query), undefined, signal);
  }

  post<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.#call<T>('POST', path, body ?? {}, signal);
  }

  delete<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.#call<T>('DELETE', path, undefined, signal);
  }

  async #call<T>(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(this.#options.key()) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        ...(signal && { signal }),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, 'NETWORK', `the server could not be reached (${(error as Error).message})`);
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (response.ok) return parsed as T;
    const error = errorFromBody(response.status, parsed, text);
    if (response.status === 401) this.#options.onUnauthenticated?.(error);
    throw error;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An {@link ApiError} from an error answer (`{ error: { code, message, details } }`, or anything else). */
export function errorFromBody(status: number, body: unknown, text: string): ApiError {
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null) {
    const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
    return new ApiError(
      status,
      typeof code === 'string' ? code : `HTTP_${status}`,
      typeof message === 'string' ? message : `HTTP ${status}`,
      typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {},
    );
  }
  return new ApiError(status, `HTTP_${status}`, text.slice(0, 200) || `HTTP ${status}`);
}
