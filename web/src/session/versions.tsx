import { useCallback, useEffect, useState } from 'react';
import type { DiffView, FileChange, FileDiffView, VersionRow } from '../api/types.ts';
import { ScopedButton, useAuth } from '../auth.tsx';
import { navigate, sessionHref } from '../router.ts';
import { formatCost, formatTime, preview } from '../ui/format.ts';

/**
 * The session's versions (verified snapshots): take one now, compare two (node states,
 * memory, messages, cost, the files with their diffs, then the JSON Patch), and fork a new session from one or
 * carry on from it.
 */
export function VersionsPanel({
  sessionId,
  versionsRev,
}: {
  readonly sessionId: string;
  readonly versionsRev: number;
}) {
  const { api } = useAuth();
  const [versions, setVersions] = useState<VersionRow[] | undefined>();
  const [from, setFrom] = useState<number | undefined>();
  const [to, setTo] = useState<number | 'current' | undefined>();
  const [diff, setDiff] = useState<DiffView | undefined>();
  const [files, setFiles] = useState<FileDiffView | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [nonce, setNonce] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: versionsRev and nonce ask for a reload
  useEffect(() => {
    let current = true;
    api
      .versions(sessionId)
      .then(({ versions }) => {
        if (!current) return;
        setVersions(versions);
        const last = versions.at(-1)?.version;
        const before = versions.at(-2)?.version;
        setFrom((f) => f ?? before ?? last);
        setTo((t) => t ?? (before !== undefined ? last : 'current'));
      })
      .catch((e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
  }, [api, sessionId, versionsRev, nonce]);

  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }, []);

  const showDiff = () =>
    run(async () => {
      if (from === undefined) return;
      const until = to === 'current' ? undefined : to;
      const [states, changed] = await Promise.all([
        api.diff(sessionId, from, until),
        api.diffFiles(sessionId, from, until),
      ]);
      setDiff(states);
      setFiles(changed);
    });

  return (
    <div className="versions">
      <div className="row">
        <h2>Versions</h2>
        <ScopedButton
          scope="run"
          busy={busy}
          testId="take-version"
          onClick={() =>
            void run(async () => {
              await api.takeVersion(sessionId, 'from the dashboard');
              setNonce((n) => n + 1);
            })
          }
        >
          Take a version now
        </ScopedButton>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {versions === undefined ? <p className="muted">Loading…</p> : null}
      {versions?.length === 0 ? <p className="muted">No version yet.</p> : null}
      {versions && versions.length > 0 ? (
        <table data-testid="versions-table">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Label</th>
              <th scope="col" className="num">
                Log position
              </th>
              <th scope="col">Taken</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td>{v.label ?? ''}</td>
                <td className="num">{v.seq}</td>
                <td>{formatTime(v.createdAt)}</td>
                <td className="row">
                  <ScopedButton
                    scope="run"
                    busy={busy}
                    label={`Fork a new session from version ${v.version}`}
                    onClick={() =>
                      void run(async () => {
                        const forked = await api.fork(sessionId, v.version);
                        navigate(sessionHref(forked.sessionId));
                      })
                    }
                  >
                    Fork
                  </ScopedButton>
                  <ScopedButton
                    scope="run"
                    busy={busy}
                    label={`Carry on from version ${v.version}`}
                    onClick={() =>
                      void run(async () => {
                        const resumed = await api.resume(sessionId, v.version);
                        navigate(sessionHref(resumed.sessionId));
                      })
                    }
                  >
                    Resume from here
                  </ScopedButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {versions && versions.length > 0 ? (
        <form
          className="row diff-form"
          onSubmit={(e) => {
            e.preventDefault();
            void showDiff();
          }}
          aria-label="Compare versions"
        >
          <label htmlFor="diff-from">From</label>
          <select id="diff-from" value={from ?? ''} onChange={(e) => setFrom(Number(e.target.value))}>
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                version {v.version}
              </option>
            ))}
          </select>
          <label htmlFor="diff-to">To</label>
          <select
            id="diff-to"
            value={to ?? 'current'}
            onChange={(e) => setTo(e.target.value === 'current' ? 'current' : Number(e.target.value))}
          >
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                version {v.version}
              </option>
            ))}
            <option value="current">now</option>
          </select>
          <button type="submit" disabled={busy || from === undefined} data-testid="show-diff">
            Compare
          </button>
        </form>
      ) : null}
      {diff ? <DiffSummary diff={diff} /> : null}
      {diff && files ? <FileDiffs files={files} /> : null}
    </div>
  );
}

function DiffSummary({ diff }: { readonly diff: DiffView }) {
  const summary = diff.summary as {
    nodes?: { workflowId: string; nodeId: string; from: string | null; to: string | null }[];
    memory?: { added: string[]; removed: string[]; changed: string[] };
    messagesAdded?: number;
    costAddedUsd?: number;
    eventsAdded?: number;
    files?: string[] | null;
  };
  return (
    <section className="diff" aria-labelledby="diff-title" data-testid="diff">
      <h3 id="diff-title">
        Version {diff.from.version} → {diff.to.version === 'current' ? 'now' : `version ${diff.to.version}`} (log{' '}
        {diff.from.seq} → {diff.to.seq})
      </h3>
      <dl className="facts">
        <dt>Events</dt>
        <dd>{summary.eventsAdded ?? '—'} added</dd>
        <dt>Messages</dt>
        <dd>{summary.messagesAdded ?? '—'} added</dd>
        <dt>Cost</dt>
        <dd>{formatCost(summary.costAddedUsd)} added</dd>
        <dt>Memory</dt>
        <dd>
          {summary.memory
            ? `added ${list(summary.memory.added)}; changed ${list(summary.memory.changed)}; removed ${list(summary.memory.removed)}`
            : '—'}
        </dd>
        <dt>Files</dt>
        <dd>{summary.files === null || summary.files === undefined ? 'not recorded' : list(summary.files)}</dd>
      </dl>
      <h4>Graph states</h4>
      {summary.nodes && summary.nodes.length > 0 ? (
        <table data-testid="diff-nodes">
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {summary.nodes.map((n) => (
              <tr key={`${n.workflowId}/${n.nodeId}`}>
                <td>{n.nodeId}</td>
                <td>{n.from ?? '(not there: added)'}</td>
                <td>{n.to ?? '(removed)'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No node changed state.</p>
      )}
      <details>
        <summary>JSON Patch ({diff.patch.length} operations)</summary>
        <ol className="patch">
          {diff.patch.slice(0, 500).map((op, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a patch is fixed once shown
            <li key={i} className="mono">
              {String(op.op)} {String(op.path)} {op.value !== undefined ? preview(op.value, 160) : ''}
            </li>
          ))}
        </ol>
      </details>
    </section>
  );
}

/** The workspace files changed between the two versions: each text file's unified diff, binary files named. */
function FileDiffs({ files }: { readonly files: FileDiffView }) {
  return (
    <section className="diff" aria-labelledby="files-title" data-testid="diff-files">
      <h4 id="files-title">Files</h4>
      {!files.recorded ? <p className="muted">These versions recorded no workspace files.</p> : null}
      {files.recorded && files.files.length === 0 ? <p className="muted">No file changed.</p> : null}
      {files.files.map((file) => (
        <details key={file.path} className="file-diff" data-file={file.path} open={files.files.length <= 5}>
          <summary>
            <span className="mono">{file.path}</span> {file.status}
            {file.binary ? ', binary (not shown)' : `, +${file.added} −${file.removed}`}
            {file.truncated ? ', cut short' : ''}
          </summary>
          <FileDiffBody file={file} />
        </details>
      ))}
      {files.omittedFiles > 0 ? <p className="muted">{files.omittedFiles} more files changed (not listed).</p> : null}
    </section>
  );
}

function FileDiffBody({ file }: { readonly file: FileChange }) {
  if (file.binary) return <p className="muted">A binary file: its contents are not shown.</p>;
  if (file.diff === undefined) return <p className="muted">Not shown: the comparison reached its size limit.</p>;
  return (
    // Scrolls within itself: the whole diff stays reachable with the keyboard (focus, then arrows).
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to be scrolled by keyboard
    <pre className="unified-diff" tabIndex={0}>
      {file.diff.split('\n').map((line, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a diff is fixed once shown
        <span key={i} className={line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : undefined}>
          {line}
          {'\n'}
        </span>
      ))}
      {file.truncated ? <span className="muted">… (cut at the size limit)</span> : null}
    </pre>
  );
}

function list(items: readonly string[]): string {
  return items.length === 0 ? 'none' : items.join(', ');
}
