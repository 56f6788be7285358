/**
 * Which engine serves which target: the contract's capability table names the engine of each
 * platform (`TARGET_PLATFORMS[platform].engine`); this file says which engines this server
 * implements. A new engine is a folder under engines/ and its line in ENGINE_FACTORIES, which has
 * one for every engine of the contract (null: not implemented yet), so the type checker asks for it.
 */
import { TARGET_PLATFORMS, targetOf, type EngineName } from "@dbwarden/contract";
import { ConfigError, type AccessPlan, type TargetPlan } from "../config.js";
import type { Engine, EngineFactory, EngineOptions } from "./engine.js";
import { createBigQueryEngine } from "./bigquery/index.js";
import { createPostgresEngine } from "./postgres/index.js";
import { createSnowflakeEngine } from "./snowflake/index.js";

export const ENGINE_FACTORIES: { readonly [E in EngineName]: EngineFactory | null } = {
  postgres: createPostgresEngine,
  snowflake: createSnowflakeEngine,
  bigquery: createBigQueryEngine,
};

/** The engines a plan needs, with the targets each serves: those read by some workflow. */
export interface EnginePlan {
  engine: EngineName;
  factory: EngineFactory;
  targets: TargetPlan[];
}

/**
 * The engines for a plan's targets, checked before anything starts: a target whose engine this
 * server does not implement is a ConfigError naming the target and its platform.
 */
export function planEngines(plan: AccessPlan, factories: typeof ENGINE_FACTORIES = ENGINE_FACTORIES): EnginePlan[] {
  const byEngine = new Map<EngineName, EnginePlan>();
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const workflow of plan.workflows) {
    const target = targetOf(plan, workflow);
    if (seen.has(target.name)) continue;
    seen.add(target.name);
    const platform = TARGET_PLATFORMS[target.platform];
    const factory = factories[platform.engine];
    if (!factory) {
      problems.push(
        `  target "${target.name}" is on platform "${target.platform}" (${platform.title}), ` +
          `served by the "${platform.engine}" engine, which this server does not implement`,
      );
      continue;
    }
    const entry = byEngine.get(platform.engine) ?? { engine: platform.engine, factory, targets: [] };
    entry.targets.push(target);
    byEngine.set(platform.engine, entry);
  }
  if (problems.length > 0) {
    const implemented =
      Object.entries(factories)
        .filter(([, factory]) => factory !== null)
        .map(([engine]) => engine)
        .join(", ") || "none";
    throw new ConfigError(
      `unsupported targets:\n${problems.join("\n")}\nEngines this server implements: ${implemented}. ` +
        `Remove the target's workflows from this server's plan, or run a server that implements its engine.`,
    );
  }
  return [...byEngine.values()];
}

/** The engine of each target, opened. */
export interface Engines {
  /** The engine serving a target (every target a workflow reads has one). */
  of(target: string): Engine;
  readonly all: readonly Engine[];
  /** A new plan replaced `previous`'s: each engine takes over the unchanged connections of its kind (Engine.takeOver). */
  takeOver(previous: Engines): void;
  close(): Promise<void>;
}

/** Open the planned engines; if one fails to open, those already open are closed. */
export async function openEngines(planned: readonly EnginePlan[], options: Omit<EngineOptions, "targets">): Promise<Engines> {
  const byTarget = new Map<string, Engine>();
  const all: Engine[] = [];
  try {
    for (const entry of planned) {
      const engine = await entry.factory({ ...options, targets: entry.targets });
      all.push(engine);
      for (const target of entry.targets) byTarget.set(target.name, engine);
    }
  } catch (error) {
    await Promise.allSettled(all.map((e) => e.close()));
    throw error;
  }
  return {
    of(target) {
      const engine = byTarget.get(target);
      if (!engine) throw new ConfigError(`no engine serves target "${target}"`);
      return engine;
    },
    all,
    takeOver(previous) {
      for (const engine of all) {
        const same = previous.all.find((e) => e.name === engine.name);
        if (same && same !== engine) engine.takeOver?.(same);
      }
    },
    async close() {
      await Promise.allSettled(all.map((e) => e.close()));
    },
  };
}
