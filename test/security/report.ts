/**
 * The hostile suites' report: every case tried is printed with how it ended, and each suite
 * prints its totals, so a run shows how many cases were tried and that none got through.
 */
export interface CaseReport {
  /** Records one case and prints it: `refused` (or any outcome word) and what happened. */
  note(name: string, outcome: string, detail?: string): void;
  /** Prints the totals by outcome; call in `afterAll`. */
  print(): void;
}

/** A report for one suite. */
export function caseReport(suite: string): CaseReport {
  const outcomes = new Map<string, number>();
  let total = 0;
  return {
    note(name, outcome, detail) {
      total++;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      const shown = detail ? `: ${detail.length > 160 ? `${detail.slice(0, 157)}...` : detail}` : '';
      process.stdout.write(`[security/${suite}] ${name} -> ${outcome}${shown}\n`);
    },
    print() {
      const counts = [...outcomes].map(([outcome, n]) => `${n} ${outcome}`).join(', ');
      process.stdout.write(`[security/${suite}] ${total} cases: ${counts}\n`);
    },
  };
}

/** The error a call throws (or a failure when it does not). */
export async function errorOf(work: () => unknown): Promise<{ code?: string; message: string }> {
  try {
    await work();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the call to be refused, it succeeded');
}
