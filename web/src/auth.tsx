import {
  createContext,
  type FormEvent,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
} from 'react';
import { ApiClient, ApiError } from './api/client.ts';
import { type Routes, routes } from './api/routes.ts';
import type { ApiScope, Principal } from './api/types.ts';

/**
 * The tab's API key: asked for when the server wants one, kept in sessionStorage (this tab
 * only, gone when it closes; never in localStorage or a cookie), sent as a bearer token. The
 * key's scopes decide which buttons work: those it does not allow are disabled, with the
 * reason, never hidden.
 */

const STORAGE_KEY = 'orchestrator.apiKey';

function storedKey(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Where the key stands. */
export type AuthState = 'checking' | 'ready' | 'needs-key' | 'unreachable';

interface AuthValue {
  readonly api: Routes;
  readonly client: ApiClient;
  readonly state: AuthState;
  readonly principal: Principal | undefined;
  readonly error: string | undefined;
  /** True when the key's scopes allow `scope` (`admin` allows all). */
  readonly can: (scope: ApiScope) => boolean;
  readonly setKey: (key: string) => Promise<void>;
  readonly forgetKey: () => void;
}

const AuthContext = createContext<AuthValue | undefined>(undefined);

/** The auth context (inside {@link AuthProvider}). */
export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** What a scope lets a key do, for the reason of a disabled button. */
export const SCOPE_MEANING: Readonly<Record<ApiScope, string>> = {
  read: 'see sessions and their streams',
  run: 'start, pause, resume, cancel and fork sessions',
  approve: 'answer questions and approvals',
  admin: 'everything',
};

export function AuthProvider({ children }: { children: ReactNode }) {
  const [key, setKeyState] = useState<string | undefined>(storedKey);
  const [state, setState] = useState<AuthState>('checking');
  const [principal, setPrincipal] = useState<Principal | undefined>();
  const [error, setError] = useState<string | undefined>();

  const client = useMemo(
    () =>
      new ApiClient({
        key: () => storedKey(),
        onUnauthenticated: () => setState('needs-key'),
      }),
    [],
  );
  const api = useMemo(() => routes(client), [client]);

  const check = useCallback(async () => {
    setState('checking');
    try {
      setPrincipal(await api.whoami());
      setError(undefined);
      setState('ready');
    } catch (e) {
      const err = e as ApiError;
      setPrincipal(undefined);
      setError(err.message);
      setState(err.status === 401 ? 'needs-key' : err.status === 0 ? 'unreachable' : 'ready');
    }
  }, [api]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new key is checked again
  useEffect(() => {
    void check();
  }, [check, key]);

  const setKey = useCallback(async (value: string) => {
    sessionStorage.setItem(STORAGE_KEY, value.trim());
    setKeyState(value.trim());
  }, []);
  const forgetKey = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setKeyState(undefined);
  }, []);
  // What the server says the key may do (`admin` holds every scope); nothing before it answered.
  const can = useCallback(
    (scope: ApiScope) => principal?.allows.some((a) => a.scope === scope && a.allowed) ?? false,
    [principal],
  );

  const value = useMemo(
    () => ({ api, client, state, principal, error, can, setKey, forgetKey }),
    [api, client, state, principal, error, can, setKey, forgetKey],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/** The form that asks for a key. */
export function KeyPrompt({ onDone }: { onDone?: () => void }) {
  const { setKey, error, state } = useAuth();
  const [value, setValue] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (value.trim() === '') return;
    await setKey(value);
    setValue('');
    onDone?.();
  };
  return (
    <form className="key-prompt" onSubmit={submit} aria-labelledby="key-prompt-title">
      <h2 id="key-prompt-title">API key</h2>
      <p>
        This server wants an API key (<code>orchestrator keys create --name NAME --scope read,run,approve</code>). It is
        kept for this tab only and sent with every request.
      </p>
      {state === 'needs-key' && error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <label htmlFor="api-key">Key</label>
      <div className="row">
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="orch_…"
          required
        />
        <button type="submit">Use this key</button>
      </div>
    </form>
  );
}

/** A button that needs a scope: disabled (with the reason as its description) when the key lacks it. */
export function ScopedButton({
  scope,
  children,
  onClick,
  busy,
  className,
  testId,
  label,
}: {
  readonly scope: ApiScope;
  readonly children: ReactNode;
  readonly onClick: () => void;
  readonly busy?: boolean;
  readonly className?: string;
  readonly testId?: string;
  readonly label?: string;
}) {
  const { can, principal } = useAuth();
  const allowed = can(scope);
  const means = principal?.allows.find((a) => a.scope === scope)?.means ?? SCOPE_MEANING[scope];
  const reason = allowed
    ? undefined
    : principal
      ? `Your API key "${principal.name}" lacks the "${scope}" scope (to ${means}).`
      : 'Waiting for the server to say what your API key may do.';
  return (
    <button
      type="button"
      className={className}
      onClick={onClick}
      disabled={!allowed || busy}
      aria-disabled={!allowed || busy}
      title={reason}
      aria-description={reason}
      data-reason={reason}
      aria-label={label}
      data-testid={testId}
      data-scope={scope}
    >
      {children}
    </button>
  );
}

export { ApiError };
