/** Secrets Manager conventions every AWS component that writes a secret follows (login secrets, the API key secret). */

/**
 * Staging label kept on a secret's first version, besides AWSCURRENT. After rotations AWS deletes
 * versions without a label; a refresh would then drop the first version from state and the next
 * `up` would write it back as AWSCURRENT (terraform-provider-aws #37302), putting a stale value
 * back. With this label the version is never deleted, and `ignoreChanges: ["versionStages"]`
 * keeps an `up` from moving AWSCURRENT back to it once rotations (or `dbwarden keys`) moved it on.
 */
export const INITIAL_VERSION_STAGE = "dbwarden-initial";
/** The first version's options: its stages are set once, then left to rotations and operators. */
export const INITIAL_VERSION_IGNORE_CHANGES = ["versionStages"];
