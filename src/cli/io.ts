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

export function processIO(): CliIO {
  return {
    out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    progress: (t) => process.stderr.write(`${t}\n`),
    now: () => new Date(),
    cwd: process.cwd(),
    env: process.env,
  };
}
