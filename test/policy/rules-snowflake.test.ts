/**
 * The Snowflake rules through their real handlers: for each, a compliant resource passes and the
 * same resource with one field changed is reported, with a message naming what is wrong.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GrantPrivilegesToAccountRole } from "@pulumi/snowflake/grantPrivilegesToAccountRole.js";
import { ServiceUser } from "@pulumi/snowflake/serviceUser.js";
import { User } from "@pulumi/snowflake/user.js";
import { View } from "@pulumi/snowflake/view.js";
import type { WorkflowFacts } from "../../policies/lib/config.ts";
import { snowflakeGrantsReadOnly } from "../../policies/rules/snowflakeGrantsReadOnly.ts";
import { snowflakeNoBaseTableWithHiddenColumns, viewBaseTable } from "../../policies/rules/snowflakeNoBaseTableWithHiddenColumns.ts";
import { snowflakeSecondaryRolesOff } from "../../policies/rules/snowflakeSecondaryRolesOff.ts";
import { snowflakeUserKeyPairOnly } from "../../policies/rules/snowflakeUserKeyPairOnly.ts";
import { resourceViolations, stackViolations } from "./support/run.ts";

const sales: WorkflowFacts = {
  name: "sales-analytics",
  owner: "revenue-ops",
  expires: null,
  database: "ANALYTICS",
  group: "dbw_sales_analytics",
  logins: [{ role: "dbw_sales_analytics__claude_revops", client: "claude-revops" }],
  justifiedColumns: [],
};
const config = { workflows: [sales], platformRoles: [], sensitiveColumns: {}, asOf: "2026-03-31" };

const grant = (fields: Record<string, unknown> = {}) => ({
  type: GrantPrivilegesToAccountRole,
  props: {
    accountRoleName: "DBW_SALES_ANALYTICS",
    privileges: ["SELECT"],
    onSchemaObject: { objectType: "VIEW", objectName: '"ANALYTICS"."DBWARDEN"."V"' },
    ...fields,
  },
});
const user = (fields: Record<string, unknown> = {}, type: typeof ServiceUser | typeof User = ServiceUser) => ({
  type,
  props: {
    name: "DBW_SALES_ANALYTICS__CLAUDE_REVOPS",
    defaultRole: "DBW_SALES_ANALYTICS",
    defaultSecondaryRolesOption: "NONE",
    networkPolicy: "DBWARDEN_SNOWFLAKE_WAREHOUSE",
    rsaPublicKey: "MIIBIjAN",
    ...fields,
  },
});

describe("snowflake-grants-read-only", () => {
  it("passes SELECT on a view, USAGE on warehouse, database and schema", async () => {
    assert.deepEqual(await resourceViolations(snowflakeGrantsReadOnly, grant(), config), []);
    for (const on of [
      { onAccountObject: { objectType: "WAREHOUSE", objectName: "AGENTS_XS" } },
      { onAccountObject: { objectType: "DATABASE", objectName: "ANALYTICS" } },
      { onSchema: { schemaName: '"ANALYTICS"."SALES"' } },
    ]) {
      assert.deepEqual(await resourceViolations(snowflakeGrantsReadOnly, grant({ privileges: ["USAGE"], onSchemaObject: undefined, ...on }), config), []);
    }
  });

  it("reports writes, the grant option, account-wide and future grants to an agent role; ignores other roles", async () => {
    assert.deepEqual(await resourceViolations(snowflakeGrantsReadOnly, grant({ privileges: ["SELECT", "INSERT"] }), config), [
      'agent role DBW_SALES_ANALYTICS: INSERT on VIEW "ANALYTICS"."DBWARDEN"."V": agent roles hold only SELECT on a VIEW',
    ]);
    assert.match((await resourceViolations(snowflakeGrantsReadOnly, grant({ withGrantOption: true }), config))[0]!, /WITH GRANT OPTION/);
    assert.match(
      (
        await resourceViolations(snowflakeGrantsReadOnly, grant({ onSchemaObject: { future: { objectTypePlural: "TABLES", inSchema: '"A"."B"' } } }), config)
      )[0]!,
      /named objects only/,
    );
    assert.match(
      (
        await resourceViolations(
          snowflakeGrantsReadOnly,
          grant({ privileges: ["OPERATE"], onSchemaObject: undefined, onAccountObject: { objectType: "WAREHOUSE", objectName: "W" } }),
          config,
        )
      )[0]!,
      /OPERATE on WAREHOUSE W/,
    );
    assert.deepEqual(await resourceViolations(snowflakeGrantsReadOnly, grant({ accountRoleName: "ANALYST", privileges: ["INSERT"] }), config), []);
  });
});

describe("snowflake-user-key-pair-only", () => {
  it("passes a service user with a key and a network policy", async () => {
    assert.deepEqual(await resourceViolations(snowflakeUserKeyPairOnly, user(), config), []);
  });

  it("reports a user without a network policy, and a user with a password", async () => {
    assert.deepEqual(await resourceViolations(snowflakeUserKeyPairOnly, user({ networkPolicy: undefined }), config), [
      "agent user DBW_SALES_ANALYTICS__CLAUDE_REVOPS has no network policy: it could log in from any address",
    ]);
    assert.deepEqual(await resourceViolations(snowflakeUserKeyPairOnly, user({ password: "hunter2-but-longer" }, User), config), [
      "agent user DBW_SALES_ANALYTICS__CLAUDE_REVOPS has a password: agents' users authenticate with key pairs only",
    ]);
  });
});

describe("snowflake-secondary-roles-off", () => {
  it("passes NONE; reports DEFAULT and an absent option", async () => {
    assert.deepEqual(await resourceViolations(snowflakeSecondaryRolesOff, user(), config), []);
    assert.match(
      (await resourceViolations(snowflakeSecondaryRolesOff, user({ defaultSecondaryRolesOption: "DEFAULT" }), config))[0]!,
      /secondary roles "DEFAULT"/,
    );
    assert.equal((await resourceViolations(snowflakeSecondaryRolesOff, user({ defaultSecondaryRolesOption: undefined }), config)).length, 1);
  });
});

describe("snowflake-no-base-table-with-hidden-columns", () => {
  const view = {
    type: View,
    name: "view",
    props: { database: "ANALYTICS", schema: "DBWARDEN", name: "V", isSecure: "true", statement: 'SELECT "ID" FROM "ANALYTICS"."SALES"."CUSTOMERS"' },
  };
  const onView = { ...grant(), name: "on-view" };
  const onBase = { ...grant({ onSchemaObject: { objectType: "TABLE", objectName: '"ANALYTICS"."SALES"."CUSTOMERS"' } }), name: "on-base" };

  it("passes the view's grant alone, and the base table granted to another role", async () => {
    assert.deepEqual(await stackViolations(snowflakeNoBaseTableWithHiddenColumns, [view, onView]), []);
    assert.deepEqual(
      await stackViolations(snowflakeNoBaseTableWithHiddenColumns, [view, onView, { ...onBase, props: { ...onBase.props, accountRoleName: "ETL" } }]),
      [],
    );
    assert.equal(viewBaseTable('SELECT "ID" FROM "A"."B"."C"'), '"A"."B"."C"');
  });

  it("reports the base table granted beside its secure view to the same role", async () => {
    const violations = await stackViolations(snowflakeNoBaseTableWithHiddenColumns, [view, onView, onBase]);
    assert.equal(violations.length, 1);
    assert.match(JSON.stringify(violations[0]), /reads \\"ANALYTICS\\"\.\\"SALES\\"\.\\"CUSTOMERS\\" through the secure view/);
  });
});
