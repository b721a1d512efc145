/**
 * What the correlation learns about each record (its proxy, direction, wire leg, event, ...), kept on the
 * record itself rather than in one Map per fact: a Map entry costs ~36 bytes and a report holds several
 * per record (issue 17, memory per record). Each `RecordFacts` stores its values under a private symbol,
 * as a non-enumerable property (a copy of the record made with `{ ...r }` does not carry it; JSON and
 * structured clones never see it). Only `get` / `has` / `set` are offered: a record's facts are looked up
 * from the record, never listed.
 */
export interface RecordLookup<K extends object, V> {
  get(k: K): V | undefined;
  has(k: K): boolean;
  set(k: K, v: V): this;
}

/**
 * Every fact of a record lives in one holder object, kept on the record under this symbol as a
 * non-enumerable property: defining a non-enumerable property is a slow runtime call (~1.5 µs), and a
 * record gets five or six facts per pass, while plain stores into the holder are fast (issue 17, report
 * speed). Records are not changed otherwise; a copy (`{ ...r }`), JSON and structured clones never see it.
 */
const HOLDER = Symbol('record facts');

type Holder = Record<symbol, unknown>;

/** The descriptor a holder is defined with, one object reused (defineProperty reads it and keeps none of it). */
const HOLDER_DESCRIPTOR: PropertyDescriptor = { value: undefined, writable: true, enumerable: false, configurable: true };

function holderOf(k: object): Holder | undefined {
  return (k as Record<symbol, Holder | undefined>)[HOLDER];
}

export class RecordFacts<K extends object, V> implements RecordLookup<K, V> {
  private readonly key: symbol;
  constructor(name: string) {
    this.key = Symbol(name);
  }

  get(k: K): V | undefined {
    const h = holderOf(k);
    return h === undefined ? undefined : (h[this.key] as V | undefined);
  }

  has(k: K): boolean {
    const h = holderOf(k);
    return h !== undefined && this.key in h;
  }

  set(k: K, v: V): this {
    let h = holderOf(k);
    if (h === undefined || !Object.prototype.hasOwnProperty.call(k, HOLDER)) {
      h = {};
      HOLDER_DESCRIPTOR.value = h;
      Object.defineProperty(k, HOLDER, HOLDER_DESCRIPTOR);
      HOLDER_DESCRIPTOR.value = undefined;
    }
    h[this.key] = v;
    return this;
  }
}

/**
 * A fact computed from the record when it is asked for (`derive`, a pure function of the record and of
 * facts already set), so nothing is kept per record; `set` overrides the derived value for one record.
 * `has` is true when either gives a value.
 */
export class DerivedFacts<K extends object, V> implements RecordLookup<K, V> {
  private readonly overrides: RecordFacts<K, V>;
  constructor(
    name: string,
    private readonly derive: (k: K) => V | undefined,
  ) {
    this.overrides = new RecordFacts<K, V>(name);
  }

  get(k: K): V | undefined {
    return this.overrides.has(k) ? this.overrides.get(k) : this.derive(k);
  }

  has(k: K): boolean {
    return this.overrides.has(k) || this.derive(k) !== undefined;
  }

  set(k: K, v: V): this {
    this.overrides.set(k, v);
    return this;
  }
}
