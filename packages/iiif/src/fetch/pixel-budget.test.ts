import t from 'tap';
import { tick } from '@loupe/testing';
import { PixelBudget } from './pixel-budget.js';

/** A decode that finishes when the test says. */
function decode(budget: PixelBudget, pixels: number, log: string[], name: string): { finish: () => void; done: Promise<void> } {
  let finish!: () => void;
  const gate = new Promise<void>((resolve) => (finish = resolve));
  const done = budget.hold(pixels, async () => {
    log.push(`${name} starts at ${budget.inUse}`);
    await gate;
  });
  return { finish, done };
}

t.test('a decode waits until the pixels in flight leave room for it', async (t) => {
  const budget = new PixelBudget(100);
  const log: string[] = [];
  const a = decode(budget, 60, log, 'a');
  const b = decode(budget, 60, log, 'b');
  await tick();
  t.same(log, ['a starts at 60'], 'b would pass the budget, so it waits');
  a.finish();
  await a.done;
  await tick();
  t.same(log, ['a starts at 60', 'b starts at 60']);
  b.finish();
  await b.done;
  t.equal(budget.inUse, 0);
  t.equal(budget.peak, 60);
});

t.test('waiters go in arrival order: a small one does not overtake a large one', async (t) => {
  const budget = new PixelBudget(100);
  const log: string[] = [];
  const a = decode(budget, 60, log, 'a');
  const b = decode(budget, 50, log, 'b');
  const c = decode(budget, 10, log, 'c');
  await tick();
  t.same(log, ['a starts at 60'], 'c would fit, but b came first');
  a.finish();
  await a.done;
  await tick();
  t.same(log.slice(1).sort(), ['b starts at 60', 'c starts at 60'], 'both start when a is done');
  b.finish();
  c.finish();
  await Promise.all([b.done, c.done]);
  t.ok(budget.peak <= 100);
});

t.test('an image larger than the whole budget runs alone, and a failed decode gives its pixels back', async (t) => {
  const budget = new PixelBudget(100);
  const log: string[] = [];
  const a = decode(budget, 30, log, 'a');
  const huge = decode(budget, 250, log, 'huge');
  await tick();
  t.same(log, ['a starts at 30']);
  a.finish();
  await a.done;
  await tick();
  t.same(log, ['a starts at 30', 'huge starts at 100'], 'charged the whole budget, never more');
  huge.finish();
  await huge.done;
  await t.rejects(budget.hold(40, async () => Promise.reject(new Error('corrupt'))), /corrupt/);
  t.equal(budget.inUse, 0);
  t.throws(() => new PixelBudget(0), { code: 'LOUPE_ERR_CONFIG_INVALID' });
});
