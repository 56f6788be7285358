/**
 * Every rule of the dbwarden policy pack, one module each under rules/ (tests import them one by
 * one). This list is what the pack's entry (pack.ts) serves to the Pulumi CLI and what
 * `dbwarden check` runs in-process; nothing here starts a server.
 */
import type { Policies } from "@pulumi/policy";
import { agentGrantsReadOnly } from "./rules/agentGrantsReadOnly.ts";
import { agentRoleAttributes } from "./rules/agentRoleAttributes.ts";
import { agentRoleMemberships } from "./rules/agentRoleMemberships.ts";
import { agentsThroughReplica } from "./rules/agentsThroughReplica.ts";
import { bigqueryAgentsReadViewsOnly } from "./rules/bigqueryAgentsReadViewsOnly.ts";
import { bigqueryJobsCapped } from "./rules/bigqueryJobsCapped.ts";
import { bigqueryNoPublicGrants } from "./rules/bigqueryNoPublicGrants.ts";
import { cloudRunNotPublic } from "./rules/cloudRunNotPublic.ts";
import { cloudSqlEncryptedOnly } from "./rules/cloudSqlEncryptedOnly.ts";
import { cloudSqlQueryLogging } from "./rules/cloudSqlQueryLogging.ts";
import { logRetention } from "./rules/logRetention.ts";
import { mcpContainerHardened } from "./rules/mcpContainerHardened.ts";
import { mcpImageAllowed } from "./rules/mcpImageAllowed.ts";
import { mcpLoadBalancerInternal } from "./rules/mcpLoadBalancerInternal.ts";
import { mcpSecretsByReference } from "./rules/mcpSecretsByReference.ts";
import { noAccessForExpiredWorkflows } from "./rules/noAccessForExpiredWorkflows.ts";
import { noOpenIngress } from "./rules/noOpenIngress.ts";
import { noTableAndColumnSelect } from "./rules/noTableAndColumnSelect.ts";
import { notPubliclyAccessible } from "./rules/notPubliclyAccessible.ts";
import { ownerAndWorkflowTags } from "./rules/ownerAndWorkflowTags.ts";
import { passwordRotation } from "./rules/passwordRotation.ts";
import { queryLogging } from "./rules/queryLogging.ts";
import { sensitiveColumnsJustified } from "./rules/sensitiveColumnsJustified.ts";
import { sensitiveColumnsMaskedOrJustified } from "./rules/sensitiveColumnsMaskedOrJustified.ts";
import { filteredClientsHaveAttributes } from "./rules/filteredClientsHaveAttributes.ts";
import { snowflakeGrantsReadOnly } from "./rules/snowflakeGrantsReadOnly.ts";
import { snowflakeNoBaseTableWithHiddenColumns } from "./rules/snowflakeNoBaseTableWithHiddenColumns.ts";
import { snowflakeSecondaryRolesOff } from "./rules/snowflakeSecondaryRolesOff.ts";
import { snowflakeUserKeyPairOnly } from "./rules/snowflakeUserKeyPairOnly.ts";

/** The pack's name (PulumiPolicy.yaml and `new PolicyPack`). */
export const POLICY_PACK_NAME = "dbwarden";

export const policies: Policies = [
  agentGrantsReadOnly,
  agentRoleAttributes,
  agentRoleMemberships,
  noTableAndColumnSelect,
  sensitiveColumnsJustified,
  sensitiveColumnsMaskedOrJustified,
  filteredClientsHaveAttributes,
  noAccessForExpiredWorkflows,
  noOpenIngress,
  notPubliclyAccessible,
  agentsThroughReplica,
  passwordRotation,
  queryLogging,
  logRetention,
  mcpContainerHardened,
  mcpImageAllowed,
  mcpSecretsByReference,
  mcpLoadBalancerInternal,
  ownerAndWorkflowTags,
  cloudRunNotPublic,
  cloudSqlEncryptedOnly,
  cloudSqlQueryLogging,
  bigqueryNoPublicGrants,
  bigqueryJobsCapped,
  bigqueryAgentsReadViewsOnly,
  snowflakeGrantsReadOnly,
  snowflakeUserKeyPairOnly,
  snowflakeSecondaryRolesOff,
  snowflakeNoBaseTableWithHiddenColumns,
];
