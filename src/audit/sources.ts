/**
 * Where `dbwarden audit` reads its two trails from: a file on this machine (the local stack's audit
 * file, a database log), or CloudWatch Logs (./cloudwatch.ts). Each yields lines with the place
 * they came from, so every finding names where to look.
 */
import { createReadStream, existsSync } from "node:fs";
import { createInterface } from "node:readline";

/** One line of a log, and where it is (`file:line`, or a CloudWatch log stream and event). */
export interface SourceLine {
  text: string;
  where: string;
}

export interface LogSource {
  /** Named in reports: a file path, `cloudwatch:<log group>`. */
  readonly name: string;
  lines(): AsyncIterable<SourceLine>;
}

/** A log file, read line by line (it may be large). */
export class FileLogSource implements LogSource {
  constructor(
    private readonly path: string,
    /** How the file is named in reports (relative to the working directory, as given). */
    readonly name: string = path,
  ) {}

  async *lines(): AsyncIterable<SourceLine> {
    if (!existsSync(this.path)) throw new Error(`${this.name}: no such file`);
    const reader = createInterface({ input: createReadStream(this.path, { encoding: "utf8" }), crlfDelay: Infinity });
    let number = 0;
    for await (const text of reader) {
      number++;
      yield { text, where: `${this.name}:${number}` };
    }
  }
}

/** Every line of a source, in order. */
export async function readLines(source: LogSource): Promise<SourceLine[]> {
  const lines: SourceLine[] = [];
  for await (const line of source.lines()) lines.push(line);
  return lines;
}
