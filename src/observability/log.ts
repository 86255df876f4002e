// One JSON object per line on stderr: what log collectors in Kubernetes parse without help.
export type Log = (message: string, fields?: Record<string, unknown>) => void;

export function createLog(component: string): Log {
  return (message, fields = {}) =>
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), component, message, ...fields })}\n`);
}
