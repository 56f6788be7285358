/**
 * The preview-feature names the Snowflake provider is given are the provider's own (issue 20).
 * A wrong name fails only at `pulumi up` (mocks accept anything), so the names are checked against
 * the list the provider documents for `previewFeaturesEnabled` ("Valid options are: ..."), copied
 * below from the Terraform provider 1.0.x documentation that @pulumi/snowflake 1.x bridges (the
 * same names are still valid in 2.x). And every resource type the components use whose feature is
 * on that list must be enabled: a preview type added without its name fails here, not at `up`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SNOWFLAKE_PREVIEW_FEATURES, SNOWFLAKE_TYPES } from "../../components/snowflake/children.ts";

/** The provider's preview features: `preview_features_enabled` "Valid options", provider 1.0.x. */
const DOCUMENTED_PREVIEW_FEATURES = new Set(
  `current_account_datasource account_authentication_policy_attachment_resource account_password_policy_attachment_resource
  alert_resource alerts_datasource api_integration_resource authentication_policy_resource cortex_search_service_resource
  cortex_search_services_datasource database_datasource database_role_datasource dynamic_table_resource dynamic_tables_datasource
  external_function_resource external_functions_datasource external_table_resource external_tables_datasource
  external_volume_resource failover_group_resource failover_groups_datasource file_format_resource file_formats_datasource
  function_java_resource function_javascript_resource function_python_resource function_scala_resource function_sql_resource
  managed_account_resource materialized_view_resource materialized_views_datasource network_policy_attachment_resource
  network_rule_resource email_notification_integration_resource notification_integration_resource object_parameter_resource
  password_policy_resource pipe_resource pipes_datasource current_role_datasource sequence_resource sequences_datasource
  share_resource shares_datasource parameters_datasource procedure_java_resource procedure_javascript_resource
  procedure_python_resource procedure_scala_resource procedure_sql_resource stage_resource stages_datasource
  storage_integration_resource storage_integrations_datasource system_generate_scim_access_token_datasource
  system_get_aws_sns_iam_policy_datasource system_get_privatelink_config_datasource
  system_get_snowflake_platform_info_datasource table_column_masking_policy_application_resource table_constraint_resource
  table_resource user_authentication_policy_attachment_resource user_public_keys_resource
  user_password_policy_attachment_resource`
    .split(/\s+/)
    .map((name) => `snowflake_${name}`),
);

/** `snowflake:index/networkRule:NetworkRule` -> `snowflake_network_rule_resource`, the provider's naming. */
function featureNameOf(type: string): string {
  const module = type.split(":")[1]!.split("/")[1]!;
  return `snowflake_${module.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_resource`;
}

test("every preview feature dbwarden enables is one the provider documents", () => {
  for (const [type, feature] of Object.entries(SNOWFLAKE_PREVIEW_FEATURES)) {
    assert.ok(DOCUMENTED_PREVIEW_FEATURES.has(feature), `${type}: ${feature} is not a preview feature of the provider`);
    assert.equal(feature, featureNameOf(type), `${type}: the provider names its feature ${featureNameOf(type)}`);
  }
});

test("every resource type the components use is stable or has its preview feature enabled", () => {
  for (const type of Object.values(SNOWFLAKE_TYPES)) {
    const preview = DOCUMENTED_PREVIEW_FEATURES.has(featureNameOf(type));
    assert.equal(type in SNOWFLAKE_PREVIEW_FEATURES, preview, `${type}: ${preview ? "a preview type not enabled" : "enabled but stable"}`);
  }
});

test("the naming rule reads the provider's names (a check of the check)", () => {
  assert.equal(
    featureNameOf("snowflake:index/tableColumnMaskingPolicyApplication:TableColumnMaskingPolicyApplication"),
    "snowflake_table_column_masking_policy_application_resource",
  );
  assert.ok(DOCUMENTED_PREVIEW_FEATURES.has(featureNameOf("snowflake:index/networkRule:NetworkRule")));
  assert.ok(!DOCUMENTED_PREVIEW_FEATURES.has(featureNameOf("snowflake:index/serviceUser:ServiceUser")));
});
