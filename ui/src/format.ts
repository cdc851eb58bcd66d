const SHORT_HASH_LENGTH = 12;

/** Job hashes are long hex digests; a prefix is enough to tell cards apart at a glance. */
export function shortenHash(hash: string): string {
  return hash.length > SHORT_HASH_LENGTH ? `${hash.slice(0, SHORT_HASH_LENGTH)}…` : hash;
}
