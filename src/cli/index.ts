/** The `orchestrator` command line: a thin layer over the programmatic API. */
export { buildProgram, EXIT, main } from './main.ts';
