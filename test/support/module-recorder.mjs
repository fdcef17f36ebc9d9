// Loaded with `node --import`: records the URL of every module the process loads (through the
// synchronous module hooks of Node >= 22.15) and writes them, one per line, to the file named
// by MODULE_RECORD_FILE when the process exits. Tests use it to check what a command loads.
import { writeFileSync } from 'node:fs';
import module from 'node:module';

const file = process.env.MODULE_RECORD_FILE;
const loaded = new Set();
if (file && typeof module.registerHooks === 'function') {
  module.registerHooks({
    load(url, context, nextLoad) {
      loaded.add(url);
      return nextLoad(url, context);
    },
  });
  process.on('exit', () => writeFileSync(file, [...loaded].join('\n')));
}
