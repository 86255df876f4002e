// Option parsing shared by the commands: node's parseArgs plus the checks every command needs.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

type Values<T extends Options> = { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string };

export function parseOptions<T extends Options>(argv: string[], options: T, usage: string): Values<T> {
  return parseCommandLine(argv, options, usage, false).values;
}

/** Like parseOptions, for commands that also take positional arguments. */
export function parseOptionsAndPositionals<T extends Options>(argv: string[], options: T, usage: string) {
  return parseCommandLine(argv, options, usage, true);
}

function parseCommandLine<T extends Options>(argv: string[], options: T, usage: string, allowPositionals: boolean) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return { values: parsed.values as Values<T>, positionals: parsed.positionals };
}

export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing ${flag}`);
  return value;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!allowed.includes(value as T)) {
    throw new UsageError(`unknown ${flag} "${value}"; expected one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

export function positiveInt(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** A number in (0, 1], e.g. a similarity threshold. */
export function fraction(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!(x > 0 && x <= 1)) throw new UsageError(`${flag} must be a number in (0, 1], got "${value}"`);
  return x;
}

/**
 * Options that each fall back to an environment variable, BIONER_ + the flag in upper snake
 * case, so a ConfigMap can configure a pod.
 */
export function envBackedOptions<F extends string>(argv: string[], flags: readonly F[], usage: string, env: NodeJS.ProcessEnv) {
  const args = parseOptions(argv, Object.fromEntries(flags.map((f) => [f, { type: 'string' as const }])), usage) as
    Partial<Record<F, string>>;
  const get = (flag: F): string | undefined => args[flag] ?? env[`BIONER_${flag.toUpperCase().replace(/-/g, '_')}`];
  const int = (flag: F, fallback: number): number => positiveInt(get(flag), fallback, `--${flag}`);
  return { get, int };
}
