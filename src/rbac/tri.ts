/**
 * Three-valued match results. Envoy's matchers are boolean; `U` (undecidable) is ours, for
 * inputs we cannot evaluate faithfully offline (an unsupported CEL expression, an attribute the
 * evidence does not carry). Composition follows Kleene logic, which agrees with Envoy's
 * short-circuit evaluation whenever no operand is undecidable (matchers have no side effects).
 */
export const F = 0;
export const T = 1;
export const U = 2;
export type Tri = 0 | 1 | 2;

export function tri(b: boolean): Tri {
  return b ? T : F;
}

export function triNot(x: Tri): Tri {
  return x === U ? U : x === T ? F : T;
}

export function triToPublic(x: Tri): boolean | 'undecidable' {
  return x === U ? 'undecidable' : x === T;
}
