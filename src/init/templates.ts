/**
 * What `dbwarden init` writes: a spec folder to start from, and a Pulumi project that deploys it.
 *
 * - The local stack (`environments/local.yaml` and the demo workflow it enables): `npx dbwarden up`
 *   runs it as written, on an embedded PostgreSQL with dbwarden's demo dataset. Nothing in it is a
 *   placeholder.
 * - The first deployed environment for the chosen host (`--host`, default `aws-ecs`), a workflow
 *   for it and the catalog snapshot its components read. Every value the team must replace is
 *   marked `# CHANGE` (src/spec/placeholders.ts): `dbwarden validate` refuses a file that still
 *   carries the marker, so an example value never reaches a deployment unnoticed.
 * - `Pulumi.yaml` and the program it names (`<spec folder>/index.cjs`, CommonJS JavaScript: it runs
 *   as written whatever the package's `"type"`, with no TypeScript toolchain), which is the bundled
 *   program: `deployStack()`, preflight first.
 *
 * A host that `pulumi up` deploys needs an entry in `DEPLOYED_HOST_TEMPLATES`: the contract's
 * `HOST_PLATFORMS` and this table are checked against each other by the type checker.
 */
import type { HostPlatformName } from "@dbwarden/contract";
import type { GovernedEnvironmentOutputs } from "../../components/hosts.ts";
import { PLACEHOLDER_MARKER } from "../spec/placeholders.ts";
import { DEFAULT_MCP_IMAGE } from "../version.ts";

/** The local stack's name: `dbwarden up` runs it by default. */
export const LOCAL_STACK = "local";
/** The workflow the local stack enables: it reads the demo dataset `dbwarden up` loads. */
export const DEMO_WORKFLOW = "demo-revenue-review";
/** Its API-key client (what the first-day docs connect). */
export const DEMO_CLIENT = "local-agent";
/** The first deployed environment's workflow. */
export const EXAMPLE_WORKFLOW = "orders-weekly-summary";

/** Hosts `pulumi up` deploys (every host but the local one). */
export type DeployedHostName = Exclude<HostPlatformName, "local">;

/** What init writes for a deployed host: the environment and the catalog snapshot of its example workflow. */
export interface DeployedHostTemplate {
  /** One line for `--help`. */
  title: string;
  /** `environments/<stack>.yaml`; `schema` is the JSON Schema's path relative to environments/. */
  environment(stack: string, schema: string): string;
  /** `catalog/<stack>.json`: the columns of the tables the example workflow reads. */
  catalog(): string;
}

const C = `# ${PLACEHOLDER_MARKER}:`;

export const DEPLOYED_HOST_TEMPLATES: Record<DeployedHostName, DeployedHostTemplate> = {
  "aws-ecs": {
    title: "AWS: an existing RDS primary, a read replica created for the agents, the MCP server on ECS Fargate",
    environment: awsEnvironment,
    catalog: exampleCatalog,
  },
  "gcp-cloudrun": {
    title: "GCP: an existing Cloud SQL for PostgreSQL primary, a read replica created for the agents, the MCP server on Cloud Run",
    environment: gcpEnvironment,
    catalog: exampleCatalog,
  },
};

/** The columns of the example workflow's table, the same on every host. */
function exampleCatalog(): string {
  return `${JSON.stringify({ "public.orders": ["id", "customer_id", "status", "total_cents", "shipping_address", "created_at"] }, null, 2)}\n`;
}

/** The stack outputs of every host's top-level component, in the order the program exports them. */
const OUTPUT_NAMES = {
  mcpUrl: true,
  endpointHostname: true,
  secretIds: true,
  apiKeysSecretId: true,
  logGroups: true,
  roleNames: true,
  replicaAddresses: true,
} as const satisfies Record<keyof GovernedEnvironmentOutputs, true>;

/** The files of a spec folder, relative to it: text by path. `schema` is the JSON Schema's path relative to environments/. */
export function specFolderFiles(options: { stack: string; host: DeployedHostName | null; schema: string }): Record<string, string> {
  const files: Record<string, string> = {
    [`environments/${LOCAL_STACK}.yaml`]: localEnvironment(options.schema),
    [`workflows/${DEMO_WORKFLOW}.yaml`]: demoWorkflow(options.schema),
  };
  if (options.host === null) return files;
  const host = DEPLOYED_HOST_TEMPLATES[options.host];
  return {
    ...files,
    [`environments/${options.stack}.yaml`]: host.environment(options.stack, options.schema),
    [`workflows/${EXAMPLE_WORKFLOW}.yaml`]: exampleWorkflow(options.stack, options.schema),
    [`catalog/${options.stack}.json`]: host.catalog(),
  };
}

/** `Pulumi.yaml` of the project, naming the program and keeping stack settings in the spec folder. */
export function pulumiProject(specFolder: string, program: string): string {
  return `# The Pulumi project that deploys this repository's dbwarden environments (written by \`dbwarden init\`):
# \`pulumi up -s <env>\` deploys ${specFolder}/environments/<env>.yaml with its workflows, exactly what
# \`npx dbwarden plan --stack <env>\` shows. Stack settings (\`aws:region\`...) are kept next to the
# environments, in ${specFolder}/Pulumi.<env>.yaml.
name: dbwarden # the project's name: stacks are <org>/dbwarden/<env>; rename it before \`pulumi stack init\` to run several
description: Governed, read-only database access for AI agents (dbwarden).
runtime:
  name: nodejs
  options:
    # The program is JavaScript: no TypeScript toolchain to install.
    typescript: false
main: ${program}
stackConfigDir: ${specFolder}
`;
}

/** The Pulumi program: the bundled program, its outputs exported. CommonJS, so it runs whatever the package's "type". */
export function pulumiProgram(specFolder: string): string {
  const outputs = Object.keys(OUTPUT_NAMES)
    .map((name) => `  ${name}: environment.${name},`)
    .join("\n");
  return `// The Pulumi program (Pulumi.yaml \`main\`, written by \`dbwarden init\`). \`pulumi up -s <env>\` plans
// ${specFolder}/environments/<env>.yaml with its workflows, as \`npx dbwarden plan --stack <env>\` does, runs
// the preflight of the environment's host (what the cloud would refuse: names over their limits,
// the primary's encryption and backups, the admin secret, the subnets; every problem at once, at
// preview, before anything is created), then deploys it with the host's components. The stack
// outputs below are the host's (\`pulumi stack output\`); none is a secret.
//
// CommonJS JavaScript, so it runs as written whatever package.json's "type" says. Pulumi awaits the
// exported promise: its value is the stack's outputs. To add resources of your own, declare them
// here and have \`npx dbwarden check\` judge this file: package.json "dbwarden": { "program": "${specFolder}/index.cjs" }.
"use strict";
const { deployStack } = require("dbwarden");

module.exports = deployStack().then((environment) => ({
${outputs}
}));
`;
}

function localEnvironment(schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# The local stack: \`npx dbwarden up\` starts an embedded PostgreSQL on this machine, loads dbwarden's
# demo dataset into it (accounts, users, usage events, invoices, support tickets), applies the
# access plan and serves the workflows enabled below through the governed MCP server on 127.0.0.1.
# Nothing here is a placeholder: it runs as written. Its state (the database, the generated
# passwords and API keys) is kept in .dbwarden/local/, which must never be committed (\`dbwarden
# init\` added .dbwarden/ to .gitignore; \`dbwarden up\` refuses to start while it is not ignored).
# A workflow of your own runs here against a copy of your database: \`npx dbwarden up --url
# postgres://...\`, with the workflow enabled below.
apiVersion: dbwarden/v1
kind: Environment
name: ${LOCAL_STACK}
description: The local stack on this machine (dbwarden up), with the demo dataset.
targets:
  app:
    platform: postgres
    database: dbwarden_demo
    credentials:
      mode: password
      rotationDays: 30
    logging:
      statements: log-statement
      retentionDays: 7
    # The demo database is dbwarden's own: nothing else uses it, so PUBLIC's defaults are taken away.
    publicPrivileges:
      revoke: the local demo database belongs to dbwarden up alone; no other application uses it.
    # The demo dataset's personal and payment data: a workflow reads these only with a justification.
    sensitiveColumns:
      - app.users.email
      - app.users.full_name
      - app.users.password_hash
      - app.accounts.billing_email
      - analytics.usage_events.ip_address
      - billing.invoices.card_last4
      - support.tickets.requester_email
mcpServer:
  port: 7300
  hostnames: [localhost, 127.0.0.1]
workflows:
  - ${DEMO_WORKFLOW}
`;
}

function demoWorkflow(schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# A workflow on the local stack's demo dataset, to try dbwarden before you write your own: the
# agent may read the listed invoice columns and every account column but the billing email, and
# nothing else. Enabled in environments/${LOCAL_STACK}.yaml.
apiVersion: dbwarden/v1
kind: Workflow
name: ${DEMO_WORKFLOW}
owner: demo
description: Summarise revenue by plan and region from the demo dataset (dbwarden up).
target: app
scope:
  billing:
    invoices:
      description: One row per invoice issued to an account. Amounts are in cents.
      columns:
        id: Invoice id.
        account_id: Account invoiced; joins to app.accounts.id.
        amount_cents: Invoice total in minor units, tax included.
        currency: ISO 4217 currency code.
        status: draft, open, paid, void or uncollectible.
        issued_at: When the invoice was issued (UTC).
  app:
    accounts:
      description: One row per customer account (a company on a paid or trial plan).
      exclude: [billing_email] # every column but this one
limits:
  statementTimeout: 10s
  maxRows: 1000
clients:
  - name: ${DEMO_CLIENT}
    auth: api-key
`;
}

function awsEnvironment(stack: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# One environment (a Pulumi stack of the same name): the databases agents read, how they reach
# them, and where the MCP server runs. Lines marked ${PLACEHOLDER_MARKER} hold example values: replace each with
# your own, then delete its \`# ${PLACEHOLDER_MARKER}\` comment (\`npx dbwarden validate\` refuses the file
# while one is left). \`npx dbwarden plan --stack ${stack}\` shows what it grants.
apiVersion: dbwarden/v1
kind: Environment
name: ${stack} # the stack name: this file is environments/<name>.yaml
description: Agents read a replica of the application database through the governed MCP server.
targets:
  app: # a name for this database, used by workflows' \`target:\`
    platform: aws-rds
    database: app ${C} the database (in the instance) the workflows read
    region: us-east-1 ${C} the AWS region of the primary instance
    primary:
      identifier: app-${stack} ${C} the RDS identifier of your existing primary instance
      ${C} the Secrets Manager secret of the primary's master credentials (the roles and
      # grants are created with it, and password rotation uses it)
      adminSecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-admin-app-AbCdEf
    replica:
      create:
        instanceClass: db.t4g.medium ${C} the size of the read replica created for the agents
    network:
      vpcId: vpc-0123456789abcdef0 ${C} the VPC of the primary
      subnetIds: [subnet-0123456789abcdef0, subnet-0fedcba9876543210] ${C} two private subnets in different zones
      allowedCidrs: [10.0.0.0/16] ${C} the networks your agents call from
    credentials:
      mode: password # one generated password per agent, in Secrets Manager, rotated
      rotationDays: 30
    logging:
      statements: log-statement # every agent statement in the database log (or pgaudit)
      retentionDays: 90
    ${C} columns your data owner classifies as sensitive ("schema.table.column"); a workflow
    # reads one only with a written justification
    sensitiveColumns:
      - public.orders.shipping_address
mcpServer:
  image: ${DEFAULT_MCP_IMAGE} # the MCP server image released with this dbwarden
  port: 8080
  allowedCidrs: [10.0.0.0/16] ${C} the networks that may reach the MCP endpoint
  hostnames: [mcp.example.com] ${C} the DNS name agents use (point it at the load balancer after the first \`pulumi up\`)
  host:
    platform: aws-ecs
    region: us-east-1 ${C} the same region as the database
    vpcId: vpc-0123456789abcdef0 ${C} the same VPC as the database
    subnetIds: [subnet-0123456789abcdef0, subnet-0fedcba9876543210] ${C} private subnets for the service
    ${C} an ACM certificate for the hostnames above (the load balancer serves HTTPS only)
    certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000
    # The image above is on ghcr.io, so the service's subnets route to the internet (NAT). With
    # \`vpc-endpoints\` instead (no internet route), the stack creates the AWS endpoints the tasks
    # need; then use \`image: { build: true }\` (built into the stack's ECR repository) or an ECR image.
    egress: nat
workflows: # the workflows (workflows/*.yaml, by name) enabled in this environment
  - ${EXAMPLE_WORKFLOW}
`;
}

function gcpEnvironment(stack: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# One environment (a Pulumi stack of the same name): the databases agents read, how they reach
# them, and where the MCP server runs. Lines marked ${PLACEHOLDER_MARKER} hold example values: replace each with
# your own, then delete its \`# ${PLACEHOLDER_MARKER}\` comment (\`npx dbwarden validate\` refuses the file
# while one is left). \`npx dbwarden plan --stack ${stack}\` shows what it grants; docs/gcp.md walks
# through a first deploy.
apiVersion: dbwarden/v1
kind: Environment
name: ${stack} # the stack name: this file is environments/<name>.yaml
description: Agents read a Cloud SQL replica of the application database through the governed MCP server on Cloud Run.
targets:
  app: # a name for this database, used by workflows' \`target:\`
    platform: gcp-cloudsql
    database: app ${C} the database (in the instance) the workflows read
    project: my-project-${stack} ${C} the GCP project of the primary instance
    region: europe-west1 ${C} the region of the primary instance
    primary:
      instance: app-${stack} ${C} the Cloud SQL instance name of your existing primary
      ${C} the Secret Manager secret of admin credentials (JSON username/password of a
      # cloudsqlsuperuser member): the roles and grants are created with it, and rotation uses it
      adminSecret: projects/my-project-${stack}/secrets/cloudsql-admin-app
    replica:
      create:
        instanceClass: db-custom-2-7680 ${C} the machine type of the read replica created for the agents
    network:
      vpcId: projects/my-project-${stack}/global/networks/default ${C} the VPC with the primary's private IP
      privateOnly: true
    credentials:
      mode: password # one generated password per agent, in Secret Manager, rotated (or iam: no password)
      rotationDays: 30
    logging:
      statements: log-statement # every agent statement in the database log (or pgaudit)
      retentionDays: 90
    ${C} columns your data owner classifies as sensitive ("schema.table.column"); a workflow
    # reads one only with a written justification
    sensitiveColumns:
      - public.orders.shipping_address
mcpServer:
  image: ${DEFAULT_MCP_IMAGE} # the MCP server image released with this dbwarden (mirror it into Artifact Registry)
  port: 8080
  allowedCidrs: [10.0.0.0/16] ${C} the networks that may reach the MCP endpoint
  hostnames: [mcp.example.com] ${C} the DNS name agents use
  host:
    platform: gcp-cloudrun
    project: my-project-${stack} ${C} the project of the Cloud Run service
    region: europe-west1 ${C} the same region as the database
    network: projects/my-project-${stack}/global/networks/default ${C} the VPC of direct VPC egress
    subnetwork: projects/my-project-${stack}/regions/europe-west1/subnetworks/default ${C} its subnetwork in the region
    ingress: internal # reachable from the VPC only; \`load-balancer\` adds an HTTPS load balancer limited to allowedCidrs
workflows: # the workflows (workflows/*.yaml, by name) enabled in this environment
  - ${EXAMPLE_WORKFLOW}
`;
}

function exampleWorkflow(stack: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# One workflow: which team needs which answers, from which tables and columns. The model sees the
# descriptions; the database role it gets can read nothing else. Lines marked ${PLACEHOLDER_MARKER} hold
# example values: replace each, then delete its \`# ${PLACEHOLDER_MARKER}\` comment. Enabled in
# environments/${stack}.yaml (\`workflows:\`); the columns it names must be in catalog/${stack}.json
# (\`npx dbwarden catalog --stack ${stack} --url <admin url>\` writes it from the database).
apiVersion: dbwarden/v1
kind: Workflow
name: ${EXAMPLE_WORKFLOW} ${C} a name for the workflow; roles are named after it
owner: analytics ${C} the team that owns this access and answers for it
description: Summarise last week's orders by status for the weekly business review. ${C} the question it answers
target: app # a target of the environment (targets.app)
scope:
  public: ${C} schema -> table -> the columns the agent may read, each with what it means
    orders:
      description: One row per order placed by a customer.
      columns:
        id: Order id.
        status: pending, paid, shipped, delivered or cancelled.
        total_cents: Order total in cents, tax included.
        created_at: When the order was placed (UTC).
limits: # at the top level, like scope: (not indented under it)
  statementTimeout: 30s
  maxRows: 5000
clients: # the agents or integrations that use this access, each with its own credential
  - name: analytics-agent ${C} one entry per agent or integration
    auth: api-key
`;
}
