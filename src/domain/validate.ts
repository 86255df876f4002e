// Checks a value from outside (a file, a request, a reply) against a zod schema; the first
// problem becomes one line that says where it is: `SOURCE lacks "a.b"` for a missing field,
// `SOURCE: "a[0].b" PROBLEM` otherwise.
import type { z } from 'zod';

export function validate<T>(
  schema: z.ZodType<T>,
  value: unknown,
  source: string,
  fail: (message: string) => Error = (message) => new Error(message),
): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.reduce<string>((at, key) => (typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${String(key)}` : String(key)), '');
  // A type mismatch on no input at all: the field is missing.
  if (issue.code === 'invalid_type' && issue.input === undefined && path) throw fail(`${source} lacks "${path}"`);
  throw fail(path ? `${source}: "${path}" ${issue.message}` : `${source} ${issue.message}`);
}
