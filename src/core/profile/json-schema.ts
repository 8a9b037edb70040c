// A small JSON Schema validator: the subset profile.schema.json uses (draft 2020-12 keywords
// type, properties, required, additionalProperties, items, enum, const, minimum, maximum,
// minItems, oneOf, anyOf, allOf, $ref to "#/$defs/..."). It lets `vmxlab compare` check its
// input files and the tests check every profile written, without a runtime dependency.
// Unknown keywords are ignored, as the specification says annotations are.

export type JsonSchema = { readonly [keyword: string]: unknown };

export interface SchemaError {
  /** JSON pointer-like path of the value that failed ('/reasons/3/count'). */
  readonly path: string;
  readonly message: string;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  if (t === 'number') return actual === 'number' || actual === 'integer';
  return actual === t;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Validates `value` against `schema` (whose `$defs` resolve `$ref`s); [] when valid. */
export function validateJson(schema: JsonSchema, value: unknown, maxErrors = 20): SchemaError[] {
  const errors: SchemaError[] = [];
  const root = schema;

  function resolve(ref: string): JsonSchema {
    const m = /^#\/\$defs\/([^/]+)$/.exec(ref);
    const defs = root.$defs as Record<string, JsonSchema> | undefined;
    const target = m !== null ? defs?.[m[1]!] : undefined;
    if (target === undefined) throw new Error(`json-schema: cannot resolve $ref '${ref}'`);
    return target;
  }

  // Returns whether valid; pushes errors into `out` (a scratch array for oneOf/anyOf branches).
  function check(s: JsonSchema, v: unknown, path: string, out: SchemaError[]): boolean {
    const before = out.length;
    const fail = (message: string): void => { if (out.length < maxErrors) out.push({ path: path || '/', message }); };
    if (typeof s.$ref === 'string') check(resolve(s.$ref), v, path, out);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      if (!types.some((t) => typeMatches(v, t))) { fail(`expected ${types.join(' or ')}, got ${typeOf(v)}`); return false; }
    }
    if (s.const !== undefined && !deepEqual(v, s.const)) fail(`expected ${JSON.stringify(s.const)}, got ${JSON.stringify(v)}`);
    if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) fail(`expected one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(v)}`);
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) fail(`${v} is below the minimum ${s.minimum}`);
      if (typeof s.maximum === 'number' && v > s.maximum) fail(`${v} is above the maximum ${s.maximum}`);
    }
    if (Array.isArray(v)) {
      if (typeof s.minItems === 'number' && v.length < s.minItems) fail(`expected at least ${s.minItems} items, got ${v.length}`);
      if (s.items !== undefined && typeof s.items === 'object') v.forEach((x, i) => check(s.items as JsonSchema, x, `${path}/${i}`, out));
    }
    if (typeOf(v) === 'object') {
      const obj = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      if (Array.isArray(s.required)) for (const k of s.required as string[]) if (!(k in obj)) fail(`missing property '${k}'`);
      for (const [k, x] of Object.entries(obj)) {
        if (k in props) check(props[k]!, x, `${path}/${k}`, out);
        else if (s.additionalProperties === false) fail(`unexpected property '${k}'`);
        else if (typeof s.additionalProperties === 'object' && s.additionalProperties !== null) check(s.additionalProperties as JsonSchema, x, `${path}/${k}`, out);
      }
    }
    if (Array.isArray(s.allOf)) for (const sub of s.allOf as JsonSchema[]) check(sub, v, path, out);
    if (Array.isArray(s.anyOf)) {
      const ok = (s.anyOf as JsonSchema[]).some((sub) => check(sub, v, path, []));
      if (!ok) fail('matches none of anyOf');
    }
    if (Array.isArray(s.oneOf)) {
      const branches = (s.oneOf as JsonSchema[]).map((sub) => { const e: SchemaError[] = []; return { ok: check(sub, v, path, e), e }; });
      const n = branches.filter((b) => b.ok).length;
      if (n === 0) {
        // Report the branch that got furthest (fewest errors): usually the one meant.
        const best = branches.reduce((a, b) => (b.e.length < a.e.length ? b : a));
        fail(`matches none of oneOf (closest: ${best.e[0]?.path ?? path} ${best.e[0]?.message ?? ''})`);
      } else if (n > 1) fail(`matches ${n} branches of oneOf, expected exactly one`);
    }
    return out.length === before;
  }

  check(root, value, '', errors);
  return errors;
}
