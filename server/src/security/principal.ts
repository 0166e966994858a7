/**
 * Who is calling, and what they may do. Every route and frame checks a role; appends and reads
 * also check the stream against the principal's prefixes.
 */
export const Role = { producer: 'producer', reader: 'reader', admin: 'admin' } as const;
export type Role = (typeof Role)[keyof typeof Role];
export const ROLES: readonly Role[] = [Role.producer, Role.reader, Role.admin];

export interface Principal {
  /** A stable id for logs, metrics and rate limits (key id or JWT `sub`); never a secret. */
  id: string;
  roles: ReadonlySet<Role>;
  /** Streams this principal may touch start with one of these; null means every stream. */
  streamPrefixes: readonly string[] | null;
}

/** The principal of every request when `SHARDLINE_AUTH=off` (local development only). */
export const DEVELOPMENT_PRINCIPAL: Principal = {
  id: 'anonymous (auth off)',
  roles: new Set(ROLES),
  streamPrefixes: null,
};

export function mayAccessStream(principal: Principal, stream: string): boolean {
  const prefixes = principal.streamPrefixes;
  if (prefixes === null) return true;
  for (const prefix of prefixes) if (stream.startsWith(prefix)) return true;
  return false;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
