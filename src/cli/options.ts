// Each command's options as one table: per flag, what its value looks like, the help line, the
// default and how the value is read. The usage text is printed from the table and the values
// are parsed by it, so every default is written once. Commands run in pods also read each flag
// from BIONER_ + the flag in upper snake case, so a ConfigMap can configure them.
import { parseArgs } from 'node:util';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {}

export interface Option<T> {
  /** What the value looks like in the usage text; none for a switch. */
  value?: string;
  help: string;
  /** The default as the usage text shows it; none when there is no default or the help says it. */
  shown?: string;
  /** The value from its text (undefined: not given); `flag` names it in errors. */
  read(raw: string | undefined, flag: string): T;
}

export type OptionTable = Record<string, Option<unknown>>;
export type OptionValues<T extends OptionTable> = { [K in keyof T]: ReturnType<T[K]['read']> };

const missing = (flag: string): never => {
  throw new UsageError(`missing ${flag}`);
};

/** A string; without a fallback, a missing one is undefined, or an error when `required`. */
export function text(value: string, help: string): Option<string | undefined>;
export function text(value: string, help: string, fallback: string | { required: true }, shown?: string): Option<string>;
export function text(value: string, help: string, fallback?: string | { required: true }, shown?: string): Option<string | undefined> {
  const required = typeof fallback === 'object';
  return {
    value, help: required ? `${help} (required)` : help,
    shown: required ? undefined : (shown ?? fallback),
    read: (raw, flag) => (raw === undefined || raw === '' ? (required ? missing(flag) : fallback) : raw),
  };
}

interface IntegerBounds {
  min?: number;
  max?: number;
  shown?: string;
}

/** An integer in [min, max] (default: positive); without a fallback, a missing one is undefined. */
export function integer(help: string, fallback: number, bounds?: IntegerBounds): Option<number>;
export function integer(help: string, fallback?: undefined, bounds?: IntegerBounds): Option<number | undefined>;
export function integer(help: string, fallback?: number, { min = 1, max = Number.MAX_SAFE_INTEGER, shown }: IntegerBounds = {}): Option<number | undefined> {
  return {
    value: 'N', help, shown: shown ?? (fallback === undefined ? undefined : String(fallback)),
    read(raw, flag) {
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) {
        throw new UsageError(min === 1 && max === Number.MAX_SAFE_INTEGER
          ? `${flag} must be a positive integer, got "${raw}"` : `${flag} must be an integer from ${min} to ${max}, got "${raw}"`);
      }
      return n;
    },
  };
}

/** A number in (0, 1], e.g. a similarity threshold. */
export function fraction(help: string, fallback: number): Option<number> {
  return {
    value: 'X', help, shown: String(fallback),
    read(raw, flag) {
      if (raw === undefined || raw === '') return fallback;
      const x = Number(raw);
      if (!(x > 0 && x <= 1)) throw new UsageError(`${flag} must be a number in (0, 1], got "${raw}"`);
      return x;
    },
  };
}

/** One of `allowed`. */
export function choice<C extends string>(allowed: readonly C[], help: string, fallback: C): Option<C>;
export function choice<C extends string>(allowed: readonly C[], help: string, fallback: { required: true }): Option<C>;
export function choice<C extends string>(allowed: readonly C[], help: string): Option<C | undefined>;
export function choice<C extends string>(allowed: readonly C[], help: string, fallback?: C | { required: true }): Option<C | undefined> {
  const required = typeof fallback === 'object';
  return {
    value: allowed.join('|'), help: required ? `${help} (required)` : help,
    shown: required ? undefined : fallback,
    read: (raw, flag) => (raw === undefined ? (required ? missing(flag) : fallback) : oneOf(raw, allowed, flag)),
  };
}

/** A comma-separated list. */
export function list(value: string, help: string, fallback: string[] | { required: true }): Option<string[]> {
  const required = !Array.isArray(fallback);
  return {
    value, help: required ? `${help} (required)` : help,
    shown: required ? undefined : fallback.join(','),
    read: (raw, flag) => {
      if (raw === undefined || raw === '') return required ? missing(flag) : fallback;
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    },
  };
}

/** A setting that is on or off, with a default: one shape for all of them, so a ConfigMap can set it either way. */
export function onOff(help: string, fallback: boolean): Option<boolean> {
  return {
    value: 'on|off', help, shown: fallback ? 'on' : 'off',
    read: (raw, flag) => (raw === undefined || raw === '' ? fallback : oneOf(raw, ['on', 'off'] as const, flag) === 'on'),
  };
}

/** A switch that asks for something extra (a report format, another output), off unless given. */
export function toggle(help: string): Option<boolean> {
  return { help, read: (raw) => raw !== undefined && raw !== 'false' };
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!allowed.includes(value as T)) {
    throw new UsageError(`unknown ${flag} "${value}"; expected one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

export interface CommandLine<T extends OptionTable> {
  /** The usage line(s) before the options. */
  synopsis: string;
  options: T;
  /** Lines after the options. */
  notes?: string;
  /** Read BIONER_<FLAG> for every flag not given. */
  env?: NodeJS.ProcessEnv;
  positionals?: boolean;
}

/** The usage text, the options listed from the table. */
export function usageText({ synopsis, options, notes }: Pick<CommandLine<OptionTable>, 'synopsis' | 'options' | 'notes'>): string {
  const heads = Object.entries(options).map(([flag, o]) => `  --${flag}${o.value ? ` ${o.value}` : ''}`);
  const width = Math.min(34, Math.max(...heads.map((h) => h.length)) + 2);
  const lines = Object.values(options).map((o, i) => {
    const help = wrap(o.shown === undefined ? o.help : `${o.help} (default ${o.shown})`, USAGE_WIDTH - width).join(`\n${' '.repeat(width)}`);
    return heads[i]!.length >= width ? `${heads[i]}\n${' '.repeat(width)}${help}` : `${heads[i]!.padEnd(width)}${help}`;
  });
  return [synopsis, '', ...lines, ...(notes ? ['', notes] : [])].join('\n');
}

const USAGE_WIDTH = 100;

/** Words into lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last]!.length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** Parses `argv` by the table; --help prints the usage and exits. */
export function parseCommandLine<T extends OptionTable>(argv: string[], command: CommandLine<T>): { values: OptionValues<T>; positionals: string[] } {
  const config = Object.fromEntries(Object.entries(command.options).map(([flag, o]) => [flag, { type: o.value ? 'string' as const : 'boolean' as const }]));
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...config, help: { type: 'boolean' } }, strict: true, allowPositionals: command.positionals ?? false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const given = parsed.values as Record<string, string | boolean | undefined>;
  if (given.help) {
    console.log(usageText(command));
    process.exit(0);
  }
  const values = Object.fromEntries(Object.entries(command.options).map(([flag, o]) => {
    const variable = `BIONER_${flag.toUpperCase().replace(/-/g, '_')}`;
    const raw = given[flag] ?? command.env?.[variable];
    const name = command.env ? `--${flag} (or ${variable})` : `--${flag}`;
    return [flag, o.read(typeof raw === 'boolean' ? String(raw) : raw, name)];
  })) as OptionValues<T>;
  return { values, positionals: parsed.positionals };
}
