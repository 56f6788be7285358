/**
 * `dbwarden/testing`: test a Pulumi program that uses dbwarden's components under
 * `pulumi.runtime.setMocks`, with no cloud and no Pulumi CLI (docs/pulumi-program.md, "Testing
 * your program").
 *
 *   import { installMocks } from "dbwarden/testing";
 *   import { loadPlan } from "dbwarden";
 *   const { plan } = loadPlan({ stack: "dev" });
 *   const mocks = await installMocks({ stack: "dev", plan, account: { rds: { storageEncrypted: true } } });
 *   await import("./index.js");            // your program
 *   await mocks.settle();
 *   mocks.byType("aws:rds/instance:Instance");   // inputs and options, as the engine receives them
 *
 * Every lookup dbwarden's components make is answered as AWS answers it, for an account matching
 * the plan, whose facts you can change (`AwsAccountFacts`); a lookup nobody answers, or an answer of
 * yours missing a field the components read, fails with a message naming it. dbwarden's own tests
 * use this module.
 */
export { installMocks, isSecretValue, redactSecrets, type MockOptions, type Mocks, type Outputs, type RecordedInvoke, type RecordedResource } from "./mocks.ts";
export {
  READ_FIELDS,
  TEST_ADMIN_PASSWORD,
  TEST_ECR_PASSWORD,
  TEST_GENERATED_PASSWORD,
  TEST_IMAGE_DIGEST,
  awsAccountInvokes,
  awsResourceOutputs,
  checkedAnswer,
  defaultSubnetCidr,
  defaultSubnetZone,
  generatedName,
  type Answer,
  type AuthorizationTokenAnswer,
  type AwsAccountFacts,
  type InstanceAnswer,
  type Invokes,
  type RouteTablesAnswer,
  type SecretVersionAnswer,
  type SubnetAnswer,
  type VpcAnswer,
} from "./aws.ts";
