import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { Option, type Command } from "commander";
import { ignoreStateDir, STATE_DIR } from "../../gitignore.ts";
import {
  DEMO_CLIENT,
  DEPLOYED_HOST_TEMPLATES,
  LOCAL_STACK,
  pulumiProgram,
  pulumiProject,
  specFolderFiles,
  type DeployedHostName,
} from "../../init/templates.ts";
import { packageFile } from "../../package.ts";
import { PLACEHOLDER_MARKER } from "../../spec/placeholders.ts";
import { CONFIG_KEY, DEFAULT_SPEC_FOLDER, SPEC_FOLDER_NAMES } from "../../spec/project.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

const HOSTS = Object.keys(DEPLOYED_HOST_TEMPLATES) as DeployedHostName[];

const HELP = `
Creates a spec folder to start from, and a Pulumi project that deploys it:
  environments/local.yaml and workflows/demo-revenue-review.yaml   the local stack: \`npx dbwarden up\` runs it as written
  environments/<stack>.yaml, workflows/orders-weekly-summary.yaml,
  catalog/<stack>.json                                              the first deployed environment (--host), its workflow
                                                                    and the column snapshot its components read
  Pulumi.yaml and <spec folder>/index.cjs                           \`pulumi up -s <stack>\` deploys the environment
and adds ${STATE_DIR}/ (the local stack's passwords and API keys) to .gitignore.
Each YAML file names the JSON Schema shipped in the package on its first line, so editors with the
YAML language server check it as you type. Every example value you must replace is commented
"# ${PLACEHOLDER_MARKER}": \`dbwarden validate\` refuses the file until the value is yours and the comment gone.
Hosts (--host): ${HOSTS.map((h) => `${h} (${DEPLOYED_HOST_TEMPLATES[h].title})`).join("; ")}.
--stack local writes the local stack alone. --no-pulumi leaves Pulumi.yaml and the program out.
Existing files are never overwritten: if one exists, nothing is written (exit 1).
A folder other than dbwarden/ or stacks/ is found through package.json: "${CONFIG_KEY}": { "specs": "<folder>" }.`;

interface InitOptions {
  dir?: string;
  stack: string;
  host: DeployedHostName;
  pulumi: boolean;
}

/** A file init writes: where (absolute) and what. */
interface Planned {
  path: string;
  text: string;
}

export function register(program: Command, io: CliIO): void {
  program
    .command("init")
    .description("Create a spec folder (the local stack, a deployed environment, a workflow, a catalog snapshot) and the Pulumi project that deploys it.")
    .option("-d, --dir <folder>", `the spec folder to create (default: package.json "${CONFIG_KEY}.specs", else ${DEFAULT_SPEC_FOLDER}/)`)
    .option("-s, --stack <env>", `name of the first deployed environment (stack); "${LOCAL_STACK}" writes the local stack alone`, "dev")
    .addOption(new Option("--host <platform>", "where the first environment's MCP server runs").choices(HOSTS).default(HOSTS[0]))
    .option("--no-pulumi", "do not write Pulumi.yaml and the program (a project that has its own)")
    .addHelpText("after", `${HELP}\nExit codes: 0 created, 1 a file already exists, 2 usage error.`)
    .action((options: InitOptions) => {
      if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(options.stack)) {
        throw new CliError(`--stack must be lower-case letters and digits in words joined by single '-' (e.g. "dev"), got "${options.stack}"`, EXIT.usage);
      }
      const configured = configuredSpecs(io.cwd);
      const specDir = resolve(io.cwd, options.dir ?? configured ?? DEFAULT_SPEC_FOLDER);
      const files = plannedFiles(io.cwd, specDir, options);
      const existing = files.filter((f) => existsSync(f.path)).map((f) => relative(io.cwd, f.path));
      if (existing.length > 0)
        throw new CliError(
          `not overwriting what exists: ${existing.join(", ")}; nothing was written (remove them, or pass ` +
            `--dir for another folder${options.pulumi ? ", --no-pulumi to keep your own Pulumi project" : ""})`,
          EXIT.invalidInput,
        );
      for (const file of files) {
        mkdirSync(dirname(file.path), { recursive: true });
        writeFileSync(file.path, file.text, { flag: "wx" });
      }
      const ignored = ignoreStateDir(io.cwd);
      io.out(createdMessage({ cwd: io.cwd, specDir, files: files.map((f) => f.path), stack: options.stack, configured: configured !== undefined, ignored }));
    });
}

/** Every file init writes for these options, absolute paths: the spec folder's, then the Pulumi project's. */
function plannedFiles(cwd: string, specDir: string, options: InitOptions): Planned[] {
  const local = options.stack === LOCAL_STACK;
  const schema = packageFile("schema", "dbwarden.schema.json");
  const fromEnvironments = relative(join(specDir, "environments"), schema).split(sep).join("/");
  const spec = specFolderFiles({ stack: options.stack, host: local ? null : options.host, schema: fromEnvironments });
  const files = Object.entries(spec).map(([path, text]) => ({ path: join(specDir, path), text }));
  if (local || !options.pulumi) return files;
  const folder = relative(cwd, specDir).split(sep).join("/") || ".";
  const program = `${folder}/index.cjs`;
  return [
    ...files,
    { path: join(specDir, "index.cjs"), text: pulumiProgram(folder) },
    { path: join(cwd, "Pulumi.yaml"), text: pulumiProject(folder, program) },
  ];
}

/** The `dbwarden.specs` setting of the package.json in `cwd`, if any (read only, never written). */
function configuredSpecs(cwd: string): string | undefined {
  try {
    const value = (JSON.parse(readFileSync(join(cwd, "package.json"), "utf8")) as Record<string, { specs?: unknown } | undefined>)[CONFIG_KEY]?.specs;
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `configured`: package.json already names a spec folder (then no hint to add the setting). */
function createdMessage(created: { cwd: string; specDir: string; files: string[]; stack: string; configured: boolean; ignored: boolean }): string {
  const { cwd, specDir, stack } = created;
  const shown = relative(cwd, specDir) || ".";
  const found = SPEC_FOLDER_NAMES.some((name) => resolve(cwd, name) === specDir) || created.configured;
  const deployed = stack !== LOCAL_STACK;
  return [
    `Created ${shown}/:`,
    ...created.files.map((f) => `  ${relative(cwd, f)}`),
    ...(created.ignored ? [`Added ${STATE_DIR}/ to .gitignore (the local stack's passwords and API keys are kept there).`] : []),
    "",
    ...(found ? [] : [`The CLI finds this folder once package.json says so: "${CONFIG_KEY}": { "specs": "${shown}" }`, ""]),
    `Try it on this machine: \`npx dbwarden up\` (the local stack, with demo data; its client is ${DEMO_CLIENT}).`,
    ...(deployed
      ? [
          `Then make ${stack} yours: replace every value commented "# ${PLACEHOLDER_MARKER}" and delete the comment, then`,
          `  npx dbwarden validate`,
          `  npx dbwarden plan --stack ${stack}`,
        ]
      : []),
  ].join("\n");
}
