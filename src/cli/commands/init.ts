import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { Command } from "commander";
import { packageFile } from "../../package.ts";
import { CONFIG_KEY, DEFAULT_SPEC_FOLDER, SPEC_FOLDER_NAMES } from "../../spec/project.ts";
import { DEFAULT_MCP_IMAGE } from "../../version.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

const HELP = `
Creates a spec folder to start from: one environment (AWS: an existing RDS primary, a read replica
created for the agents, the MCP server on ECS), one workflow and the catalog snapshot the Pulumi
components read. Each YAML file names the JSON Schema shipped in the package on its first line, so
editors with the YAML language server check it as you type; every field you must change is marked
"CHANGE". Existing files are never overwritten: if one exists, nothing is written (exit 1).
A folder other than dbwarden/ or stacks/ is found through package.json: "${CONFIG_KEY}": { "specs": "<folder>" }.`;

/**
 * What `init` writes, relative to the spec folder: text by path. `schema` is the JSON Schema's
 * path relative to environments/ (and so to workflows/, its sibling).
 */
export function initFiles(stack: string, schema: string): Record<string, string> {
  return {
    [join("environments", `${stack}.yaml`)]: environmentTemplate(stack, schema),
    [join("workflows", "orders-weekly-summary.yaml")]: workflowTemplate(stack, schema),
    [join("catalog", `${stack}.json`)]: catalogTemplate(),
  };
}

export function register(program: Command, io: CliIO): void {
  program
    .command("init")
    .description("Create a spec folder (an environment, a workflow, a catalog snapshot) to start from.")
    .option("-d, --dir <folder>", `the spec folder to create (default: package.json "${CONFIG_KEY}.specs", else ${DEFAULT_SPEC_FOLDER}/)`)
    .option("-s, --stack <env>", "name of the first environment (stack)", "dev")
    .addHelpText("after", `${HELP}\nExit codes: 0 created, 1 a file already exists, 2 usage error.`)
    .action((options: { dir?: string; stack: string }) => {
      if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(options.stack)) {
        throw new CliError(`--stack must be lower-case letters and digits in words joined by single '-' (e.g. "dev"), got "${options.stack}"`, EXIT.usage);
      }
      const configured = configuredSpecs(io.cwd);
      const specDir = resolve(io.cwd, options.dir ?? configured ?? DEFAULT_SPEC_FOLDER);
      const schema = packageFile("schema", "dbwarden.schema.json");
      const fromEnvironments = relative(join(specDir, "environments"), schema).split(sep).join("/");
      const files = Object.entries(initFiles(options.stack, fromEnvironments)).map(([path, text]) => ({ path: join(specDir, path), text }));
      const existing = files.filter((f) => existsSync(f.path)).map((f) => relative(io.cwd, f.path));
      if (existing.length > 0)
        throw new CliError(
          `not overwriting what exists: ${existing.join(", ")}; nothing was written (remove them, or pass --dir for another folder)`,
          EXIT.invalidInput,
        );
      for (const file of files) {
        mkdirSync(dirname(file.path), { recursive: true });
        writeFileSync(file.path, file.text, { flag: "wx" });
      }
      io.out(
        createdMessage(
          io.cwd,
          specDir,
          files.map((f) => f.path),
          options.stack,
          configured !== undefined,
        ),
      );
    });
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
function createdMessage(cwd: string, specDir: string, files: string[], stack: string, configured: boolean): string {
  const shown = relative(cwd, specDir) || ".";
  const found = SPEC_FOLDER_NAMES.some((name) => resolve(cwd, name) === specDir) || configured;
  return [
    `Created ${shown}/:`,
    ...files.map((f) => `  ${relative(cwd, f)}`),
    "",
    ...(found ? [] : [`The CLI finds this folder once package.json says so: "${CONFIG_KEY}": { "specs": "${shown}" }`, ""]),
    `Next: edit the lines marked CHANGE, then`,
    `  npx dbwarden validate`,
    `  npx dbwarden plan --stack ${stack}`,
  ].join("\n");
}

function environmentTemplate(stack: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# One environment (a Pulumi stack of the same name): the databases agents read, how they reach
# them, and where the MCP server runs. Lines marked CHANGE hold placeholders: replace each with
# your own value. \`npx dbwarden validate\` checks the file; \`npx dbwarden plan --stack ${stack}\`
# shows what it grants.
apiVersion: dbwarden/v1
kind: Environment
name: ${stack} # the stack name: this file is environments/<name>.yaml
description: Agents read a replica of the application database through the governed MCP server.
targets:
  app: # a name for this database, used by workflows' \`target:\`
    platform: aws-rds
    database: app # CHANGE: the database (in the instance) the workflows read
    region: us-east-1 # CHANGE: the AWS region of the primary instance
    primary:
      identifier: app-${stack} # CHANGE: the RDS identifier of your existing primary instance
      # CHANGE: the Secrets Manager secret of the primary's master credentials (the roles and
      # grants are created with it, and password rotation uses it)
      adminSecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-admin-app-AbCdEf
    replica:
      create:
        instanceClass: db.t4g.medium # CHANGE: the size of the read replica created for the agents
    network:
      vpcId: vpc-0123456789abcdef0 # CHANGE: the VPC of the primary
      subnetIds: [subnet-0123456789abcdef0, subnet-0fedcba9876543210] # CHANGE: two private subnets in different zones
      allowedCidrs: [10.0.0.0/16] # CHANGE: the networks your agents call from
    credentials:
      mode: password # one generated password per agent, in Secrets Manager, rotated
      rotationDays: 30
    logging:
      statements: log-statement # every agent statement in the database log (or pgaudit)
      retentionDays: 90
    # CHANGE: columns your data owner classifies as sensitive ("schema.table.column"); a workflow
    # reads one only with a written justification
    sensitiveColumns:
      - public.orders.shipping_address
mcpServer:
  image: ${DEFAULT_MCP_IMAGE} # the MCP server image released with this dbwarden
  port: 8080
  allowedCidrs: [10.0.0.0/16] # CHANGE: the networks that may reach the MCP endpoint
  hostnames: [mcp.example.com] # CHANGE: the DNS name agents use (point it at the load balancer)
  host:
    platform: aws-ecs
    region: us-east-1 # CHANGE: the same region as the database
    vpcId: vpc-0123456789abcdef0 # CHANGE: the same VPC as the database
    subnetIds: [subnet-0123456789abcdef0, subnet-0fedcba9876543210] # CHANGE: private subnets for the service
    # CHANGE: an ACM certificate for the hostnames above (the load balancer serves HTTPS only)
    certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000
    # The image above is on ghcr.io, so the service's subnets route to the internet (NAT). With
    # \`vpc-endpoints\` instead (no internet route), the stack creates the AWS endpoints the tasks
    # need; then use \`image: { build: true }\` (built into the stack's ECR repository) or an ECR image.
    egress: nat
workflows: # the workflows (workflows/*.yaml, by name) enabled in this environment
  - orders-weekly-summary
`;
}

function workflowTemplate(stack: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# One workflow: which team needs which answers, from which tables and columns. The model sees the
# descriptions; the database role it gets can read nothing else. Lines marked CHANGE hold
# placeholders. Enable it in an environment (environments/${stack}.yaml, \`workflows:\`).
apiVersion: dbwarden/v1
kind: Workflow
name: orders-weekly-summary # CHANGE: a name for the workflow; roles are named after it
owner: analytics # CHANGE: the team that owns this access and answers for it
description: Summarise last week's orders by status for the weekly business review. # CHANGE: the question it answers
target: app # a target of the environment (targets.app)
scope:
  public: # CHANGE: schema -> table -> the columns the agent may read, each with what it means
    orders:
      description: One row per order placed by a customer.
      columns:
        id: Order id.
        status: pending, paid, shipped, delivered or cancelled.
        total_cents: Order total in cents, tax included.
        created_at: When the order was placed (UTC).
limits:
  statementTimeout: 30s
  maxRows: 5000
clients: # the agents or integrations that use this access, each with its own credential
  - name: analytics-agent # CHANGE: one entry per agent or integration
    auth: api-key
`;
}

/** The columns of every table the workflows read, as in the database (`\\d public.orders`). */
function catalogTemplate(): string {
  return `${JSON.stringify({ "public.orders": ["id", "customer_id", "status", "total_cents", "shipping_address", "created_at"] }, null, 2)}\n`;
}
