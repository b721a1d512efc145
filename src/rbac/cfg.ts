/** Small typed readers over snake_case protobuf-JSON config, failing with a JSON path like Envoy's PGV. */
import { RbacConfigError } from './errors.js';

export type Obj = Record<string, unknown>;

export function jp(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_@][\w@]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function asObj(v: unknown, path: string, what = 'an object'): Obj {
  if (!isObj(v)) throw new RbacConfigError(path, `expected ${what}, found ${describe(v)}`);
  return v;
}

export function asArr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new RbacConfigError(path, `expected a list, found ${describe(v)}`);
  return v;
}

export function optStr(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new RbacConfigError(jp(path, key), `expected a string, found ${describe(v)}`);
  return v;
}

export function optBool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new RbacConfigError(jp(path, key), `expected a boolean, found ${describe(v)}`);
  return v;
}

/** Integers: protobuf JSON allows numbers or decimal strings (64-bit values are strings in dumps). */
export function optInt(o: Obj, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  // Wrapper types (UInt32Value) may appear as {value: n} in some YAML renderings.
  const raw = isObj(v) && 'value' in v ? v.value : v;
  if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
  if (typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) return Number(raw.trim());
  throw new RbacConfigError(jp(path, key), `expected an integer, found ${describe(v)}`);
}

export function optNum(o: Obj, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  throw new RbacConfigError(jp(path, key), `expected a number, found ${describe(v)}`);
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
  return String(v);
}

/** The set oneof member among `keys` (exactly one allowed); undefined when none is set. */
export function oneof(o: Obj, keys: readonly string[], path: string, field: string): string | undefined {
  const set = keys.filter((k) => o[k] !== undefined && o[k] !== null);
  if (set.length > 1) throw new RbacConfigError(path, `${field}: more than one of ${set.join(', ')} is set (oneof)`);
  return set[0];
}

export function enumValue<T extends string>(v: unknown, names: readonly T[], path: string, enumName: string): T {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < names.length) return names[v] as T;
  if (typeof v === 'string' && (names as readonly string[]).includes(v)) return v as T;
  throw new RbacConfigError(path, `value must be one of the defined enum values of ${enumName} (${names.join(', ')}), found ${describe(v)}`);
}

/** The `typed_config` of an extension (unwrapping xds/udpa TypedStruct): its short type name and config. */
export function typedConfig(v: unknown, path: string): { type: string; cfg: Obj; tp: string } {
  const o = asObj(v, path);
  const tp = jp(path, 'typed_config');
  const cfg = asObj(o.typed_config, tp);
  let type = String(cfg['@type'] ?? '');
  let inner = cfg;
  // xds TypedStruct / udpa TypedStruct wrapping.
  if (type.endsWith('.TypedStruct') && isObj(cfg.value)) {
    type = String(cfg.type_url ?? '');
    inner = cfg.value as Obj;
  }
  return { type: type.replace(/^.*\//, ''), cfg: inner, tp };
}
