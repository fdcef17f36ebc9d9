import { type FormEvent, useState } from 'react';
import { ScopedButton, useAuth } from '../auth.tsx';
import type { SessionModel } from '../model/session.ts';
import type { Question } from '../model/views.ts';
import { formatTime, preview } from '../ui/format.ts';

/**
 * Questions to humans: the open ones with what answers them (approve or reject an approval,
 * type an answer to an input), which need the `approve` scope; then those answered or
 * withdrawn. `compact` shows only the open ones, as a banner above the tabs.
 */
export function QuestionsPanel({
  model,
  sessionId,
  compact,
  onAnswered,
}: {
  readonly model: SessionModel;
  readonly sessionId: string;
  readonly compact?: boolean;
  readonly onAnswered: () => void;
}) {
  const open = model.openQuestions();
  const done = [...model.questions.values()].filter((q) => q.answer || q.closed).reverse();
  return (
    <section
      className={compact ? 'questions banner' : 'questions'}
      aria-labelledby={`questions-${compact ? 'banner' : 'title'}`}
    >
      <h2 id={`questions-${compact ? 'banner' : 'title'}`}>
        {open.length > 0 ? `Waiting for you (${open.length})` : 'Questions'}
      </h2>
      {open.length === 0 && !compact ? <p className="muted">No open question.</p> : null}
      <ul className="open-questions">
        {open.map((q) => (
          <li key={q.requestId}>
            <OpenQuestion question={q} sessionId={sessionId} onAnswered={onAnswered} />
          </li>
        ))}
      </ul>
      {!compact && done.length > 0 ? (
        <>
          <h3>Answered or withdrawn</h3>
          <table>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Kind</th>
                <th scope="col">Question</th>
                <th scope="col">Outcome</th>
                <th scope="col">By</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {done.map((q) => (
                <tr key={q.requestId}>
                  <td>{q.nodeId ?? '—'}</td>
                  <td>{q.kind}</td>
                  <td>{q.prompt}</td>
                  <td>{q.answer ? answerText(q.answer.value) : `withdrawn: ${q.closed}`}</td>
                  <td>{q.answer?.by ?? '—'}</td>
                  <td>{formatTime(q.answer?.ts)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

function OpenQuestion({
  question,
  sessionId,
  onAnswered,
}: {
  readonly question: Question;
  readonly sessionId: string;
  readonly onAnswered: () => void;
}) {
  const { api } = useAuth();
  const [comment, setComment] = useState('');
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();
  const id = `q-${question.requestId}`;

  const send = async (body: { approved?: boolean; value?: unknown; comment?: string }) => {
    setBusy(true);
    try {
      await api.answer(sessionId, question.requestId, body);
      setResult({ ok: true, text: 'Answer sent; the run carries on when its owner applies it.' });
      onAnswered();
    } catch (e) {
      setResult({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const submitInput = (event: FormEvent) => {
    event.preventDefault();
    void send({ value });
  };

  return (
    <article className="question" aria-labelledby={`${id}-prompt`} data-request={question.requestId}>
      <p className="question-head">
        <span className="badge status-awaiting_input">{question.kind === 'approval' ? 'approval' : 'input'}</span>{' '}
        {question.nodeId ? <span>node {question.nodeId}</span> : null} <small>{formatTime(question.ts)}</small>
      </p>
      <p id={`${id}-prompt`} className="prompt">
        {question.prompt}
      </p>
      {question.kind === 'approval' ? (
        <div className="row">
          <label htmlFor={`${id}-comment`} className="sr-only">
            Comment (optional)
          </label>
          <input
            id={`${id}-comment`}
            placeholder="Comment (optional)"
            value={comment}
            onChange={(e) => setComment(e.target.value)}
          />
          <ScopedButton
            scope="approve"
            className="primary"
            busy={busy}
            testId="approve"
            onClick={() => void send({ approved: true, ...(comment && { comment }) })}
          >
            Approve
          </ScopedButton>
          <ScopedButton
            scope="approve"
            className="danger"
            busy={busy}
            testId="reject"
            onClick={() => void send({ approved: false, ...(comment && { comment }) })}
          >
            Reject
          </ScopedButton>
        </div>
      ) : (
        <form className="row" onSubmit={submitInput}>
          <label htmlFor={`${id}-value`} className="sr-only">
            Your answer
          </label>
          <input
            id={`${id}-value`}
            placeholder="Your answer"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            required
          />
          <ScopedButton
            scope="approve"
            className="primary"
            busy={busy}
            testId="answer"
            onClick={() => void send({ value })}
          >
            Answer
          </ScopedButton>
        </form>
      )}
      {result ? (
        <p className={result.ok ? 'ok' : 'error'} role={result.ok ? 'status' : 'alert'}>
          {result.text}
        </p>
      ) : null}
    </article>
  );
}

function answerText(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'approved' in value) {
    const { approved, comment } = value as { approved?: unknown; comment?: unknown };
    return `${approved === true ? 'approved' : 'rejected'}${typeof comment === 'string' && comment ? ` (${comment})` : ''}`;
  }
  return preview(value, 200);
}
