import { it } from 'vitest';
import { runScenario } from '/work/main/test/events/stream-catchup.test.ts';
it('dbg', async () => {
  for (let seed = 1; seed <= 150; seed++) {
    const r = await Promise.race([runScenario(seed), new Promise((res) => setTimeout(() => res('hang'), 2000))]);
    if (r === 'hang') { console.log('HANG seed', seed); break; }
    const { scenario, got, want } = r as any;
    if (JSON.stringify(got) !== JSON.stringify(want)) console.log('MISMATCH', JSON.stringify(scenario), got.join(','), '|', want.join(','));
  }
}, 120000);
