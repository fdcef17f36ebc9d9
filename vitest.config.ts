import { defineConfig } from 'vitest/config';

// Test modes are chosen by file suffix, never by exclusion lists:
//   *.test.ts      unit tests, in-process, no services, no model
//   *.int.test.ts  integration tests with real parts: SQLite files, PostgreSQL, Redis,
//                  the real Claude Agent SDK and its binary against the scripted model server
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          // Unit files share their workers' module graph: with one worker (Vitest's default on
          // 2 cores) importing it afresh for each of some 120 files, this phase took 85 s, not 13.
          isolate: false,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'int',
          sequence: { groupOrder: 1 },
          include: ['test/**/*.int.test.ts'],
          // Same reason: importing the orchestrator afresh for each of some 100 files cost 84 s
          // of the workers' time (11 s shared). The files restore what they change of the
          // process (env, HOME, PATH); agents and CLIs under test run in processes of their own.
          isolate: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Each agent process is ~200 MB and these machines have 2 cores: keep files serial-ish.
          maxWorkers: 2,
        },
      },
    ],
  },
});
