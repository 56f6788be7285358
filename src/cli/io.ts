/** Where commands write. Tests pass their own to capture output. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Progress lines (stderr; quiet when not a TTY unless asked). */
  progress(text: string): void;
  /** Current time; tests pin it. */
  now(): Date;
  /** Project root: `stacks/` lives under it. */
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** A write as the terminal shows it: a whole line (a newline added where the text has none at its end). */
export const asLine = (text: string): string => (text.endsWith("\n") ? text : `${text}\n`);

export function processIO(): CliIO {
  return {
    out: (t) => process.stdout.write(asLine(t)),
    err: (t) => process.stderr.write(asLine(t)),
    progress: (t) => process.stderr.write(`${t}\n`),
    now: () => new Date(),
    cwd: process.cwd(),
    env: process.env,
  };
}
