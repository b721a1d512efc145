import { InputError, type InputErrorLocation } from '../model/errors.js';

/**
 * An RBAC config that Envoy would NACK. `reason` is worded like Envoy's own message
 * (PGV "value length must be at least 1 characters", "Failed to create CIDR range: malformed IP address", …);
 * `location.path` is the JSON path of the offending field.
 */
export class RbacConfigError extends InputError {
  readonly reason: string;
  constructor(path: string, reason: string, location: Omit<InputErrorLocation, 'path'> = {}) {
    super({ ...location, path }, `a valid RBAC config (Envoy would reject it: ${reason})`);
    this.name = 'RbacConfigError';
    this.reason = reason;
    // A shorter message than the generic InputError one: `<where>: invalid RBAC config: <reason>`.
    const where = [location.file, path].filter(Boolean).join(' at ');
    this.message = `${where}: invalid RBAC config: ${reason}`;
  }
}
