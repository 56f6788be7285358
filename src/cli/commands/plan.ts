import type { Command } from "commander";
import { planStack, planToJson } from "../../plan/index.ts";
import { renderPlanTree } from "../../plan/render.ts";
import type { CliIO } from "../io.ts";
import { projectRoot } from "../../spec/project.ts";

export function register(program: Command, io: CliIO): void {
  program
    .command("plan")
    .description("Show the access plan of a stack: roles, grants, limits, clients and the MCP server's view.")
    .option("-s, --stack <env>", "stack (environment) to plan: <spec folder>/environments/<env>.yaml", "local")
    .option("--json", "print the plan as JSON (the exact data every component reads)")
    .addHelpText("after", "\nThe plan holds no secrets: credentials appear only as secret-store names.\nExit codes: 0 planned, 1 invalid spec, 2 usage error.")
    .action((options: { stack: string; json?: boolean }) => {
      const plan = planStack(options.stack, { root: projectRoot(io.cwd), now: io.now() });
      io.out(options.json ? planToJson(plan) : renderPlanTree(plan));
    });
}
