/**
 * `dbwarden:bigquery:ServerImpersonation`: lets the MCP server's own service account mint tokens
 * for each workflow's BigQuery service account (`roles/iam.serviceAccountTokenCreator` on that
 * account alone, never on the project), and says how each login role of the target logs in:
 * `{ gcpServiceAccount: <the workflow's account> }`. The server then runs every query job as the
 * workflow's identity, which reads its own authorized views and nothing else (./access.ts); no key
 * or password exists anywhere.
 */
import * as pulumi from "@pulumi/pulumi";
import { IAMMember as ServiceAccountIamMember } from "@pulumi/gcp/serviceaccount/iammember.js";
import { workflowsOf, type AccessPlan, type LoginSource } from "@dbwarden/contract";

/** The role that lets one identity mint another service account's short-lived OAuth tokens. */
export const TOKEN_CREATOR_ROLE = "roles/iam.serviceAccountTokenCreator";

/** A service account's resource name from its project and email (what `serviceAccountId` takes). */
export function serviceAccountResourceName(project: string, email: string): string {
  return `projects/${project}/serviceAccounts/${email}`;
}

/** Every login role of the target's workflows, with the workflow whose service account it uses. Pure. */
export function bigqueryLoginRoles(plan: AccessPlan, target: string): { workflow: string; role: string }[] {
  return workflowsOf(plan, target).flatMap((w) => w.roles.logins.map((l) => ({ workflow: w.name, role: l.role })));
}

export interface BigQueryServerImpersonationArgs {
  plan: AccessPlan;
  /** The BigQuery target's name. */
  target: string;
  /** The project the workflows' service accounts live in (the target's `database`). */
  project: string;
  /** Each workflow's service account email (the access component's `serviceAccounts`). */
  serviceAccounts: Record<string, pulumi.Input<string>>;
  /** The MCP server's own service account email. */
  serverAccount: pulumi.Input<string>;
}

export class BigQueryServerImpersonation extends pulumi.ComponentResource {
  /** How each login role authenticates, as the server's runtime config says it. */
  public readonly logins: Record<string, pulumi.Output<LoginSource>> = {};
  /** The grants the MCP service waits for. */
  public readonly ready: pulumi.Resource[] = [];

  constructor(name: string, args: BigQueryServerImpersonationArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:bigquery:ServerImpersonation", name, {}, opts);
    const member = pulumi.interpolate`serviceAccount:${args.serverAccount}`;
    for (const workflow of workflowsOf(args.plan, args.target)) {
      const email = args.serviceAccounts[workflow.name];
      if (email === undefined) throw new Error(`${name}: no service account for workflow ${workflow.name}`);
      this.ready.push(
        new ServiceAccountIamMember(
          `${name}-${workflow.name}-token-creator`,
          { serviceAccountId: pulumi.output(email).apply((e) => serviceAccountResourceName(args.project, e)), role: TOKEN_CREATOR_ROLE, member },
          { parent: this },
        ),
      );
    }
    for (const login of bigqueryLoginRoles(args.plan, args.target)) {
      this.logins[login.role] = pulumi.output(args.serviceAccounts[login.workflow]!).apply((email): LoginSource => ({ gcpServiceAccount: email }));
    }
    this.registerOutputs({});
  }
}
