/** The conformance suite's leak audit finds a password anywhere `inspect` at depth 10 would, in linear time. */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LeakAudit, rememberPassword } from './src/leak-audit.js';

const PW = rememberPassword(`LeakAuditNeedle${Math.random().toString(36).slice(2)}`);

/** `n` levels of objects, each referencing the next level twice (a diamond per level: 2^n paths). */
function diamonds(n: number, leaf: object): object {
  let node: object = leaf;
  for (let i = 0; i < n; i++) node = { left: node, right: node, list: [node], map: new Map([['k', node]]) };
  return node;
}

describe('Class: LeakAudit, addGraph', () => {
  it('finds a password in a hidden field 8 references deep behind shared objects (2^8 paths), once per object', () => {
    const leaf = {};
    Object.defineProperty(leaf, 'secret', { value: { password: PW }, enumerable: false });
    const audit = new LeakAudit();
    audit.addGraph('client', diamonds(7, leaf));
    expect(() => audit.assertClean()).toThrow(/appears in client/);
  });

  it('does not descend past depth 10, behind a custom inspect, or into getters', () => {
    const audit = new LeakAudit();
    const hidden = { password: PW, [inspect.custom]: () => 'Hidden {}' };
    const getter = {};
    Object.defineProperty(getter, 'password', { get: () => PW });
    audit.addGraph('client', { deep: diamonds(11, { password: PW }), hidden, getter });
    expect(() => audit.assertClean()).not.toThrow();
  });

  it('a graph whose whole inspect would be huge (2^22 paths) is audited quickly', () => {
    const audit = new LeakAudit();
    audit.addGraph('client', diamonds(22, { password: 'not-a-run-password' }));
    expect(audit.lines).toBe(1);
    expect(() => audit.assertClean()).not.toThrow();
  });
});
