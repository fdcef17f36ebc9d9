import { useMemo, useState } from 'react';
import type { SessionModel } from '../model/session.ts';
import { formatTime } from '../ui/format.ts';

/**
 * The security audit of the session: every tool decision (who decided, by which rule), graph
 * changes by agents, grants and revocations, control requests and answers with who made them.
 * Newest first; filterable by outcome.
 */
export function AuditPanel({ model, tick }: { readonly model: SessionModel; readonly tick: number }) {
  const [filter, setFilter] = useState<'all' | 'deny' | 'people'>('all');
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick stands for the model's audit
  const rows = useMemo(() => {
    const all = [...model.audit].reverse();
    if (filter === 'deny') return all.filter((a) => a.outcome === 'deny' || a.outcome?.startsWith('rejected'));
    if (filter === 'people')
      return all.filter((a) => a.type === 'control.requested' || a.type === 'user.input' || a.by.startsWith('api:'));
    return all;
  }, [model, model.rev.audit, tick, filter]);
  return (
    <div className="audit">
      <div className="row">
        <label htmlFor="audit-filter">Show</label>
        <select id="audit-filter" value={filter} onChange={(e) => setFilter(e.target.value as typeof filter)}>
          <option value="all">everything</option>
          <option value="deny">denials and refusals</option>
          <option value="people">what people did</option>
        </select>
        <span className="muted">{rows.length} entries</span>
      </div>
      <table data-testid="audit-table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">By</th>
            <th scope="col">What</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 1000).map((a) => (
            <tr key={`${a.seq}-${a.what}`} className={a.outcome === 'deny' ? 'denied' : undefined}>
              <td>{formatTime(a.ts)}</td>
              <td className="mono">{a.type}</td>
              <td className="mono">{a.by}</td>
              <td>{a.what}</td>
              <td>{a.outcome ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > 1000 ? <p className="muted">The 1,000 newest of {rows.length} are shown.</p> : null}
    </div>
  );
}
