/**
 * What an agent sends: SQL with literal values that change on every call, from a seeded generator
 * (the same sequence in every run and for every target), over the local stack's demo data, all
 * readable by the cs-usage-drop workflow. Three shapes in turn, so no two consecutive calls share
 * their text:
 * - a point lookup by primary key;
 * - a grouped aggregate over a primary-key range;
 * - a two-table join over a key range, with a string literal.
 * And the parameterised statement of the earlier benchmark, kept as its own labelled line.
 */

/** mulberry32: a small, fast, seedable PRNG (32-bit state). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACCOUNTS = 200;
const EVENTS = 6000;
const REGIONS = ["eu", "us", "apac"] as const;

export const PARAMETERISED_SQL = "SELECT id, name, plan, region FROM app.accounts WHERE id = $1";

/** The shapes, each a function of the generator. */
export const LITERAL_SHAPES: ReadonlyArray<{ name: string; sql: (random: () => number) => string }> = [
  { name: "point lookup", sql: (r) => `SELECT id, name, plan, region FROM app.accounts WHERE id = ${1 + Math.floor(r() * ACCOUNTS)}` },
  {
    name: "grouped aggregate over a key range",
    sql: (r) => {
      const from = 1 + Math.floor(r() * (EVENTS - 100));
      return (
        `SELECT event_type, count(*) AS events, sum(quantity) AS quantity FROM analytics.usage_events ` +
        `WHERE id BETWEEN ${from} AND ${from + 99} GROUP BY event_type ORDER BY event_type`
      );
    },
  },
  {
    name: "two-table join",
    sql: (r) => {
      const from = 1 + Math.floor(r() * (EVENTS - 20));
      const region = REGIONS[Math.floor(r() * REGIONS.length)]!;
      return (
        `SELECT a.name, e.event_type, e.quantity FROM analytics.usage_events e JOIN app.accounts a ON ` +
        `a.id = e.account_id WHERE e.id BETWEEN ${from} AND ${from + 19} AND a.region = '${region}'`
      );
    },
  },
];

/** An endless sequence of literal statements, the shapes in turn. */
export function literalStatements(seed: number): () => string {
  const random = seededRandom(seed);
  let call = 0;
  return () => LITERAL_SHAPES[call++ % LITERAL_SHAPES.length]!.sql(random);
}

/** The parameterised statement's values: account ids in turn. */
export function parameterisedValues(): () => [number] {
  let call = 0;
  return () => [1 + (call++ % ACCOUNTS)];
}
