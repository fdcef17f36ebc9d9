import { type FormEvent, useEffect, useRef, useState } from 'react';
import type { WorkflowInput, WorkflowSummary } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { navigate, sessionHref } from '../router.ts';

/**
 * Starts a workflow in a new session: a registered one with its inputs (a field per declared
 * input, defaults filled in), or a definition pasted as YAML or JSON. The new session's page
 * opens as soon as the server answers.
 */
export function StartWorkflow({ onClose }: { readonly onClose: () => void }) {
  const { api } = useAuth();
  const [workflows, setWorkflows] = useState<WorkflowSummary[] | undefined>();
  const [mode, setMode] = useState<'registered' | 'source'>('registered');
  const [name, setName] = useState('');
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [source, setSource] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    dialog.current?.showModal();
    api
      .listWorkflows()
      .then(({ workflows }) => {
        setWorkflows(workflows);
        if (workflows.length === 0) setMode('source');
        else setName((current) => current || (workflows[0]?.name ?? ''));
      })
      .catch((e: Error) => {
        setWorkflows([]);
        setMode('source');
        setError(e.message);
      });
  }, [api]);

  const chosen = workflows?.find((w) => w.name === name);
  // Defaults of the chosen workflow's inputs, as text.
  useEffect(() => {
    if (!chosen) return;
    setInputs(
      Object.fromEntries(
        Object.entries(chosen.inputs).map(([key, input]) => [
          key,
          input.default === undefined ? '' : textOf(input.default),
        ]),
      ),
    );
  }, [chosen]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body =
        mode === 'registered'
          ? { workflow: name, inputs: parseInputs(inputs, chosen?.inputs ?? {}) }
          : { source, inputs: {} };
      const started = await api.startSession(body);
      onClose();
      navigate(sessionHref(started.sessionId));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="start-title" onClose={onClose}>
      <form onSubmit={submit}>
        <h2 id="start-title">Start a workflow</h2>
        <fieldset className="choices">
          <legend>What to run</legend>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === 'registered'}
              disabled={!workflows || workflows.length === 0}
              onChange={() => setMode('registered')}
            />
            A registered workflow
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'source'} onChange={() => setMode('source')} />A
            definition (YAML or JSON)
          </label>
        </fieldset>
        {mode === 'registered' ? (
          <>
            <label htmlFor="start-workflow-name">Workflow</label>
            <select id="start-workflow-name" value={name} onChange={(e) => setName(e.target.value)} required>
              {(workflows ?? []).map((w) => (
                <option key={w.name} value={w.name}>
                  {w.name} (v{w.version}){w.description ? ` — ${w.description}` : ''}
                </option>
              ))}
            </select>
            {Object.entries(chosen?.inputs ?? {}).map(([key, input]) => (
              <div className="field" key={key}>
                <label htmlFor={`input-${key}`}>
                  {key}
                  {input.required ? ' (required)' : ''}
                </label>
                <input
                  id={`input-${key}`}
                  value={inputs[key] ?? ''}
                  required={input.required}
                  aria-describedby={input.description ? `input-${key}-help` : undefined}
                  onChange={(e) => setInputs((current) => ({ ...current, [key]: e.target.value }))}
                />
                {input.description ? (
                  <small id={`input-${key}-help`}>
                    {input.description} ({input.type})
                  </small>
                ) : null}
              </div>
            ))}
          </>
        ) : (
          <>
            <label htmlFor="start-source">Definition</label>
            <textarea
              id="start-source"
              rows={14}
              value={source}
              onChange={(e) => setSource(e.target.value)}
              spellCheck={false}
              required
              placeholder="name: my-workflow&#10;nodes:&#10;  - id: first&#10;    ..."
            />
          </>
        )}
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="start-submit">
            {busy ? 'Starting…' : 'Start'}
          </button>
        </div>
      </form>
    </dialog>
  );
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The typed inputs of the form's text fields (numbers, booleans, JSON for objects and arrays). */
export function parseInputs(
  text: Readonly<Record<string, string>>,
  declared: Readonly<Record<string, WorkflowInput>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(text)) {
    if (value === '' && !declared[key]?.required) continue;
    const type = declared[key]?.type ?? 'string';
    if (type === 'number') out[key] = Number(value);
    else if (type === 'boolean') out[key] = value === 'true';
    else if (type === 'object' || type === 'array') {
      try {
        out[key] = JSON.parse(value);
      } catch {
        throw new Error(`input ${key}: not valid JSON`);
      }
    } else out[key] = value;
  }
  return out;
}
