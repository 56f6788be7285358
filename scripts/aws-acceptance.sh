#!/usr/bin/env bash
# The acceptance run of an AWS deployment, for a user with an account (see docs/aws.md):
#   1. the plan and its clients (offline)        6. the audit line of those calls in CloudWatch
#   2. pulumi preview (the preflight runs)       7. a password rotation, then a call as that client
#   3. pulumi up                                 8. a second run changes nothing (preview --refresh --expect-no-changes)
#   4. one MCP call per client (its own login)   9. pulumi destroy (deletion protection lifted first)
#   5. a refused write
#
# usage: scripts/aws-acceptance.sh [--stack prod] [--dry-run] [--keep]
#   --dry-run  print every command instead of running it (only the offline plan is computed)
#   --keep     stop before step 9: leave the stack deployed
# API-key clients get a fresh key from `dbwarden keys issue` (revoked at the end with the stack).
# OIDC clients need an access token from your identity provider in OIDC_TOKEN_<CLIENT>
# (upper case, '-' as '_'), e.g. OIDC_TOKEN_CURSOR_ONCALL. A client limited to `sourceCidrs` must be
# turned away when called from elsewhere (expected, unless FROM_CLIENT_NETWORKS=1: you run this
# from its networks and expect answers).
# Tools: pulumi (logged in to your backend), aws (credentials for the stack's account and region),
# docker (when the stack builds its image), node 20+, `npm ci` done. No key or token is printed.
set -euo pipefail

STACK=prod
DRY_RUN=0
KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stack) STACK="${2:?--stack needs a name}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DBWARDEN=(node bin/dbwarden.js)

step() { printf '\n== %s\n' "$*" >&2; }
# Prints a command, then runs it (not in a dry run).
run() {
  printf '+ %s\n' "$*" >&2
  [[ $DRY_RUN == 1 ]] || "$@"
}
# Prints a command and echoes its output; a dry run echoes the placeholder ($1) instead.
capture() {
  local placeholder="$1"
  shift
  printf '+ %s\n' "$*" >&2
  if [[ $DRY_RUN == 1 ]]; then echo "$placeholder"; else "$@"; fi
}
# An MCP call with a bearer credential from MCP_TOKEN (printed as <token>, never its value).
mcp_call() {
  local token="$1"
  shift
  printf '+ MCP_TOKEN=<token> node scripts/mcp-call.mjs %s\n' "$*" >&2
  [[ $DRY_RUN == 1 ]] || MCP_TOKEN="$token" node scripts/mcp-call.mjs "$@"
}
fail() {
  echo "FAILED: $*" >&2
  exit 1
}
# A JSON field of stdin, by a JavaScript expression over `v`.
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);const r=('"$1"');process.stdout.write(typeof r==="string"?r:JSON.stringify(r))})'; }
# `{"sql": <$1>}` as JSON.
sql_arguments() { node -e 'process.stdout.write(JSON.stringify({ sql: process.argv[1] }))' "$1"; }
# The variable holding a client's credential during the run (bash 3 has no associative arrays).
token_variable() { printf 'TOKEN_%s' "$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')"; }
# The first api-key client's line that may call from anywhere.
first_api_key_client() { printf '%s\n' "$CLIENTS" | awk -F'\t' '$3 == "api-key" && $7 == "-"' | head -1; }

step "0. tools"
for tool in pulumi aws node; do
  if [[ $DRY_RUN == 1 ]]; then echo "+ command -v $tool" >&2; else command -v "$tool" >/dev/null || fail "$tool is not installed"; fi
done

step "1. the plan of stack $STACK and its clients (offline)"
PLAN_JSON="$("${DBWARDEN[@]}" plan --stack "$STACK" --json)"
CLIENTS="$(printf '%s' "$PLAN_JSON" | node scripts/acceptance-clients.mjs)"
[[ -n $CLIENTS ]] || fail "stack $STACK has no client"
if [[ $(printf '%s' "$PLAN_JSON" | json 'v.mcpServer.image && v.mcpServer.image.source') == build ]]; then
  if [[ $DRY_RUN == 1 ]]; then echo "+ docker info" >&2; else docker info >/dev/null || fail "the stack builds its image: start Docker"; fi
fi
printf '%s\n' "$CLIENTS" | cut -f1-3 | sed 's/^/  /' >&2

step "2. preview: the preflight checks the account before anything is created"
run pulumi preview --stack "$STACK" --diff

step "3. up"
run pulumi up --stack "$STACK" --yes --skip-preview
MCP_URL="$(capture "https://<mcpUrl>/mcp" pulumi stack output --stack "$STACK" mcpUrl)"
OUTPUTS="$(capture '{"logGroups":{"mcpAudit":"/dbwarden/'"$STACK"'/mcp-audit"},"secretIds":{},"endpointHostname":"<lb>","replicaAddresses":{}}' pulumi stack output --stack "$STACK" --json)"
AUDIT_GROUP="$(printf '%s' "$OUTPUTS" | json 'v.logGroups.mcpAudit')"

step "4. one MCP call per client, each with its own credential and database login"
START_MS="$(($(date +%s) * 1000))"
ANSWERED=""
while IFS=$'\t' read -r workflow client auth _role probe _write cidrs; do
  if [[ $auth == api-key ]]; then
    token="$(capture "<api key of $client>" "${DBWARDEN[@]}" keys issue --stack "$STACK" --client "$client" --workflow "$workflow")"
  else
    variable="OIDC_TOKEN_$(printf '%s' "$client" | tr 'a-z-' 'A-Z_')"
    token="${!variable:-}"
    [[ -n $token || $DRY_RUN == 1 ]] || fail "client $client (workflow $workflow) authenticates with OIDC: put an access token for it in $variable"
    echo "+ (the access token of $client from \$$variable)" >&2
  fi
  printf -v "$(token_variable "$client")" '%s' "$token"
  expect=ok
  if [[ $cidrs != - && ${FROM_CLIENT_NETWORKS:-0} != 1 ]]; then
    expect=denied
    echo "  ($client calls only from $cidrs: from here the server must turn it away)" >&2
  fi
  mcp_call "$token" --url "$MCP_URL" --tool query --arguments "$(sql_arguments "$probe")" --expect "$expect" || fail "$client: the call was not answered as expected ($expect)"
  [[ $expect == denied ]] || ANSWERED="$ANSWERED $client"
done <<<"$CLIENTS"

step "5. a write is refused"
IFS=$'\t' read -r _ client _ _ _ write _ <<<"$(first_api_key_client)"
variable="$(token_variable "$client")"
mcp_call "${!variable}" --url "$MCP_URL" --tool query --arguments "$(sql_arguments "$write")" --expect refused || fail "the write was not refused"

step "6. the audit line of each answered call is in $AUDIT_GROUP"
for client in $ANSWERED; do
  found=0
  for _ in $(seq 1 24); do
    count="$(capture 1 aws logs filter-log-events --log-group-name "$AUDIT_GROUP" --start-time "$START_MS" --filter-pattern "\"$client\"" --query 'length(events)' --output text)"
    if [[ $count != 0 && $count != None ]]; then found=1; break; fi
    sleep 5
  done
  [[ $found == 1 ]] || fail "no audit line of $client in $AUDIT_GROUP"
done

step "7. a password rotation, then a call as that client"
# The login of the first api-key client that may call from here (its key is in hand).
ROTATED_ROLE="$(first_api_key_client | cut -f4)"
ROTATES="$(printf '%s' "$PLAN_JSON" | json 'v.targets.some(t => t.credentials.mode === "password") ? "yes" : "no"')"
if [[ $ROTATES != yes ]]; then
  echo "  (IAM database authentication: no password to rotate)" >&2
else
  SECRET_ARN="$(printf '%s' "$OUTPUTS" | json "v.secretIds['$ROTATED_ROLE'] || ''")"
  if [[ -z $SECRET_ARN ]]; then
    [[ $DRY_RUN == 1 ]] || fail "no secret of login $ROTATED_ROLE in the stack output secretIds"
    SECRET_ARN="<secret ARN of $ROTATED_ROLE>"
  fi
  run aws secretsmanager rotate-secret --secret-id "$SECRET_ARN"
  for _ in $(seq 1 60); do
    stages="$(capture '{}' aws secretsmanager describe-secret --secret-id "$SECRET_ARN" --query VersionIdsToStages --output json)"
    [[ $stages == *AWSPENDING* ]] || break
    sleep 10
  done
  [[ $stages != *AWSPENDING* ]] || fail "the rotation of $ROTATED_ROLE did not finish"
  IFS=$'\t' read -r _ client _ _ probe _ <<<"$(printf '%s\n' "$CLIENTS" | awk -F'\t' -v role="$ROTATED_ROLE" '$4 == role')"
  variable="$(token_variable "$client")"
  mcp_call "${!variable}" --url "$MCP_URL" --tool query --arguments "$(sql_arguments "$probe")" || fail "$client: no answer after the rotation"
fi

step "8. a second run changes nothing"
run pulumi preview --stack "$STACK" --refresh --expect-no-changes

if [[ $KEEP == 1 ]]; then
  step "kept: stack $STACK stays deployed (the issued API keys stay valid: revoke them with dbwarden keys revoke)"
  exit 0
fi

step "9. destroy (deletion protection of the load balancer and the created replicas lifted first)"
LB_DNS="$(printf '%s' "$OUTPUTS" | json 'v.endpointHostname')"
LB_ARN="$(capture "<load balancer ARN>" aws elbv2 describe-load-balancers --query "LoadBalancers[?DNSName=='$LB_DNS'].LoadBalancerArn" --output text)"
run aws elbv2 modify-load-balancer-attributes --load-balancer-arn "$LB_ARN" --attributes Key=deletion_protection.enabled,Value=false
for target in $(printf '%s' "$PLAN_JSON" | json 'v.targets.filter(t => t.replica.mode === "create").map(t => t.name).join(" ")'); do
  address="$(printf '%s' "$OUTPUTS" | json "v.replicaAddresses['$target'] || '<replica of $target>.'")"
  run aws rds modify-db-instance --db-instance-identifier "${address%%.*}" --no-deletion-protection --apply-immediately
done
run pulumi destroy --stack "$STACK" --yes
echo "The audit log groups are kept (retainOnDelete) until their retention ends: $AUDIT_GROUP and each replica's." >&2
step "accepted"
