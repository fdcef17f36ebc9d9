/**
 * Child of the public-API bench: prints `rss=<bytes>` right after importing the library's
 * sources (through Node's type stripping), in a process of its own. The peak of a run is
 * measured on the built package by public-api-rss-dist.mjs.
 */
await import('../../src/index.ts');
process.stdout.write(`rss=${process.memoryUsage().rss}\n`);
