/** Reads the forms an approval answer may take. */
export function normalizeApproval(value: unknown): { approved: boolean; comment?: string } {
  if (typeof value === 'boolean') return { approved: value };
  if (typeof value === 'string') return { approved: /^(y|yes|approve|approved|ok|true)$/i.test(value.trim()) };
  if (typeof value === 'object' && value !== null && 'approved' in value) {
    const { approved, comment } = value as { approved: unknown; comment?: unknown };
    return { approved: approved === true, ...(typeof comment === 'string' && { comment }) };
  }
  return { approved: false, comment: 'unreadable answer' };
}
