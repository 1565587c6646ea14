/**
 * Derives from a resolved condition tree the `ka.verb` and `ka.target.resource` values it can
 * match, so the engine only calls a rule for events that could match it. A set means "only
 * these values"; `undefined` means "cannot tell, always run". Sound, not complete: `and`
 * intersects its children's sets, `or` unions them (any unknown child makes the union unknown),
 * `not` gives up, and only `=`, `in` and `intersects` on the plain field constrain.
 */
import type { ConditionKind, ConditionNode } from './falco-condition-ast.js';
import type { DetectorIndex } from '../detector.js';

type Values = ReadonlySet<string> | undefined;

export function possibleValues(node: ConditionNode, field: string): Values {
  const handlers: { [K in ConditionKind]: (n: Extract<ConditionNode, { kind: K }>) => Values } = {
    and: (n) => {
      let acc: Values;
      for (const c of n.children) {
        const v = possibleValues(c, field);
        if (v === undefined) continue;
        acc = acc === undefined ? v : new Set([...acc].filter((x) => v.has(x)));
      }
      return acc;
    },
    or: (n) => {
      const acc = new Set<string>();
      for (const c of n.children) {
        const v = possibleValues(c, field);
        if (v === undefined) return undefined;
        for (const x of v) acc.add(x);
      }
      return acc;
    },
    not: () => undefined,
    macro: () => undefined,
    check: (n) => {
      if (
        n.field.kind !== 'field' ||
        n.field.name !== field ||
        n.field.arg !== null ||
        n.modifier !== null ||
        n.value === null
      )
        return undefined;
      if (n.op === '=' && n.value.kind === 'string') return new Set([n.value.value]);
      // (a field compared with val(other) cannot be derived: falls through to undefined)
      if ((n.op === 'in' || n.op === 'intersects') && n.value.kind === 'list')
        return new Set(n.value.values.map((v) => v.value));
      return undefined;
    },
  };
  return (handlers[node.kind] as (n: ConditionNode) => Values)(node);
}

export function deriveIndex(node: ConditionNode): DetectorIndex {
  const verbs = possibleValues(node, 'ka.verb');
  const resources = possibleValues(node, 'ka.target.resource');
  return Object.freeze({
    ...(verbs !== undefined ? { verbs: Object.freeze([...verbs].sort()) } : {}),
    ...(resources !== undefined ? { resources: Object.freeze([...resources].sort()) } : {}),
  });
}

/** Union of indexes: a key absent from any member is absent from the union. */
export function unionIndex(indexes: readonly DetectorIndex[]): DetectorIndex {
  let verbs: Set<string> | undefined = new Set();
  let resources: Set<string> | undefined = new Set();
  for (const ix of indexes) {
    if (ix.verbs === undefined) verbs = undefined;
    else if (verbs !== undefined) for (const v of ix.verbs) verbs.add(v);
    if (ix.resources === undefined) resources = undefined;
    else if (resources !== undefined) for (const r of ix.resources) resources.add(r);
  }
  return Object.freeze({
    ...(verbs !== undefined ? { verbs: Object.freeze([...verbs].sort()) } : {}),
    ...(resources !== undefined ? { resources: Object.freeze([...resources].sort()) } : {}),
  });
}
