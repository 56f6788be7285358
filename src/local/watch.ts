/**
 * `up --watch`: apply the spec on every save of one of the stack's spec files (its environment file,
 * every workflow file). Editors save in bursts (write, rename, chmod): changes are debounced, and a
 * save during a reload triggers one more reload after it, never two at once.
 */
import { existsSync, watch, type FSWatcher } from "node:fs";
import { specPaths } from "../spec/project.ts";

export interface SpecWatcher {
  close(): void;
}

export function watchSpec(root: string, stack: string, onChange: () => Promise<void>, debounceMs = 250): SpecWatcher {
  const isYaml = (name: string) => name.endsWith(".yaml") || name.endsWith(".yml");
  const paths = specPaths(root);
  const watched: Array<[string, (name: string) => boolean]> = [
    [paths.environmentsDir, (name) => name === `${stack}.yaml` || name === `${stack}.yml`],
    [paths.workflowsDir, isYaml],
  ];
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await onChange();
      } while (again);
    } finally {
      running = false;
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), debounceMs);
  };
  const watchers: FSWatcher[] = watched
    .filter(([dir]) => existsSync(dir))
    .map(([dir, relevant]) => watch(dir, (_event, name) => (name === null || relevant(String(name)) ? schedule() : undefined)));
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
