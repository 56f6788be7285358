/**
 * Reading resource inputs the way the policy runtime hands them over: through its unknown-checking
 * proxy, so a rule that touches a value unknown at preview stops there and the runtime reports
 * "cannot run during preview" (advisory) instead of a wrong verdict.
 */
import { UnknownValueError, unknownCheckingProxy } from "@pulumi/policy";

/**
 * A value for a message only (a name, an identifier): when it is unknown at preview, say so
 * rather than let the whole rule stop on a value the verdict does not depend on.
 */
export function forMessage<T>(read: () => T, unknown = "(known after deployment)"): T | string {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnknownValueError) return unknown;
    throw error;
  }
}

/**
 * A JSON document held in a string input (ECS container definitions, the MCP runtime config), parsed
 * and wrapped in the same proxy as the inputs: a value in it that was unknown stays unknown.
 * Returns undefined when the text is not JSON (the provider refuses it anyway).
 */
export function parseJsonInput(text: unknown): unknown {
  if (typeof text !== "string") return undefined;
  try {
    return unknownCheckingProxy(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Plain objects only (not arrays, not null). */
export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** A resource's `tags` input as a map (absent: empty). */
export function tagsOf(props: Record<string, unknown>): Record<string, unknown> {
  const tags = props.tags;
  return isRecord(tags) ? tags : {};
}

/** Protocols that mean "every protocol and port" in security group rules. */
const ALL_TRAFFIC = new Set(["-1", "all"]);

/** Does a security group rule (`ipProtocol`/`protocol`, `fromPort`, `toPort`) admit traffic to any of `ports`? */
export function admitsAnyPort(rule: { protocol: unknown; fromPort: unknown; toPort: unknown }, ports: readonly number[]): number | "all" | null {
  const protocol = String(rule.protocol ?? "").toLowerCase();
  if (ALL_TRAFFIC.has(protocol)) return "all";
  if (protocol !== "tcp" && protocol !== "6") return null;
  const from = typeof rule.fromPort === "number" ? rule.fromPort : 0;
  const to = typeof rule.toPort === "number" ? rule.toPort : 65535;
  return ports.find((port) => port >= from && port <= to) ?? null;
}

/** "schema.table" of a table grant's object, or of a column. */
export const qualified = (...parts: string[]) => parts.join(".");

/** What a `postgresql.Grant` is on, in words: "database app", "schema billing", "table billing.invoices", "every table in schema app". */
export function grantTarget(grant: {
  objectType: string;
  database: string;
  schema?: string | undefined;
  objects?: string[] | undefined;
  columns?: string[] | undefined;
}): string {
  if (grant.objectType === "database") return `database ${grant.database}`;
  if (grant.objectType === "schema") return `schema ${grant.schema ?? "(none)"}`;
  const objects = grant.objects ?? [];
  if (objects.length === 0) return `every ${grant.objectType === "column" ? "table" : grant.objectType} in schema ${grant.schema ?? "(none)"}`;
  const names = objects.map((o) => qualified(grant.schema ?? "", o)).join(", ");
  return grant.objectType === "column" ? `columns ${(grant.columns ?? []).join(", ")} of ${names}` : `${grant.objectType} ${names}`;
}

/** One container of an ECS task definition, as far as the rules read it. */
export interface ContainerInput {
  name?: string;
  image?: string;
  user?: string;
  readonlyRootFilesystem?: boolean;
  privileged?: boolean;
  linuxParameters?: { capabilities?: { add?: string[] } };
  environment?: { name: string; value?: string }[];
  secrets?: { name: string; valueFrom: string }[];
  logConfiguration?: { logDriver?: string };
}

/** The containers of a task definition's `containerDefinitions` (a JSON string), or undefined when it is not a JSON list. */
export function containersOf(containerDefinitions: unknown): ContainerInput[] | undefined {
  const parsed = parseJsonInput(containerDefinitions);
  return Array.isArray(parsed) ? (parsed as ContainerInput[]) : undefined;
}

/** The value of a plain environment variable of a container. */
export function environmentValue(container: ContainerInput, name: string): string | undefined {
  return (container.environment ?? []).find((e) => e.name === name)?.value;
}
