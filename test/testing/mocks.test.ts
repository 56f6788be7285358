/**
 * dbwarden/testing (src/testing/): the mocks package users test their programs with, and dbwarden's
 * own component tests use. Given only the stack's plan, every lookup the components make is
 * answered for an account matching it (the preflight passes, the admin secret names the primary);
 * an account fact changed shows in what the program does; a lookup nobody answers, and an answer
 * missing a field the components read, fail naming the lookup and the field, never with
 * "Cannot read properties of undefined".
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getInstance } from "@pulumi/aws/rds/getInstance.js";
import { getAmi } from "@pulumi/aws/ec2/getAmi.js";
import { planStack } from "../../src/plan/index.ts";
import { deployStack } from "../../src/program.ts";
import { READ_FIELDS, TEST_ADMIN_PASSWORD, installMocks, isSecretValue } from "../../src/testing/index.ts";
import { AS_OF, ROOT } from "../components/support/plans.ts";

const plan = planStack("prod", { root: ROOT, now: AS_OF });

describe("dbwarden/testing", { timeout: 120_000 }, () => {
  it("with the plan alone, the whole prod program deploys: every lookup answered, the preflight passes, the admin connection is the primary's", async () => {
    const mocks = await installMocks({ stack: "prod", plan });
    await deployStack({ cwd: ROOT, now: AS_OF, logNotes: false });
    await mocks.settle();
    assert.deepEqual([...new Set(mocks.invokes.map((i) => i.token))].sort(), Object.keys(READ_FIELDS).sort(), "every lookup the components make, answered");
    assert.ok(mocks.resources.length > 50);
    const [provider, ...others] = mocks.byType("pulumi:providers:postgresql");
    assert.equal(others.length, 0);
    assert.equal(provider!.inputs.host, "app-prod.abc123.us-east-1.rds.amazonaws.com");
    assert.ok(isSecretValue(provider!.inputs.password));
    assert.equal((provider!.inputs.password as { value: string }).value, TEST_ADMIN_PASSWORD);
  });

  it("an account fact changed shows in the program: another engine version gives the replica's parameter group family", async () => {
    const mocks = await installMocks({ stack: "prod", plan, account: { rds: { engineVersion: "15.7" } } });
    await deployStack({ cwd: ROOT, now: AS_OF, logNotes: false });
    await mocks.settle();
    const [group] = mocks.byType("aws:rds/parameterGroup:ParameterGroup");
    assert.equal(group!.inputs.family, "postgres15");
  });

  it("a lookup nobody answers fails naming it, what is answered, and how to answer it", async () => {
    await installMocks({ stack: "prod", plan });
    await assert.rejects(getAmi({ owners: ["amazon"], mostRecent: true }), (error: Error) => {
      assert.match(
        error.message,
        /unexpected lookup aws:ec2\/getAmi:getAmi\(\{"mostRecent":true,"owners":\["amazon"\]\}\): dbwarden\/testing answers aws:ec2\/getRouteTables:getRouteTables, aws:ec2\/getSubnet:getSubnet, aws:ec2\/getVpc:getVpc, aws:ecr\/getAuthorizationToken:getAuthorizationToken, aws:rds\/getInstance:getInstance, aws:secretsmanager\/getSecretVersion:getSecretVersion; answer it in installMocks\(\{ invokes: \{ "aws:ec2\/getAmi:getAmi": \(inputs\) => \(\{ \.\.\.the fields the program reads \}\) \} \}\)/,
      );
      return true;
    });
  });

  it("an answer of yours missing a field the components read fails naming the field, in the preflight's report too", async () => {
    const withoutGroups = (inputs: Record<string, unknown>) => ({
      dbInstanceIdentifier: inputs.dbInstanceIdentifier,
      address: "app-prod.example.internal",
      port: 5432,
      dbInstanceArn: "arn:aws:rds:us-east-1:123456789012:db:app-prod",
      engine: "postgres",
      engineVersion: "16.4",
      masterUsername: "admin",
      resourceId: "db-APPPROD",
      storageEncrypted: true,
      backupRetentionPeriod: 7,
    });
    await installMocks({ stack: "prod", plan, invokes: { "aws:rds/getInstance:getInstance": withoutGroups } });
    const lacks =
      /the answer to aws:rds\/getInstance:getInstance\(\{"dbInstanceIdentifier":"app-prod"\}\) lacks `vpcSecurityGroups`: dbwarden's components read it \(as the AWS provider returns it\); give it in the answer, or leave the lookup to dbwarden\/testing's account/;
    await assert.rejects(getInstance({ dbInstanceIdentifier: "app-prod" }), (error: Error) => (assert.match(error.message, lacks), true));
    await assert.rejects(deployStack({ cwd: ROOT, now: AS_OF, logNotes: false }), (error: Error) => {
      assert.match(error.message, /the preflight found/);
      assert.match(error.message, lacks);
      assert.doesNotMatch(error.message, /Cannot read properties/);
      return true;
    });
  });
});
