// Which part of a pass (REFRESH_PARTS) a token belongs to: a hash of its user id, the same on every
// instance and across releases, so parts never overlap and together cover every token.
export interface Part { readonly index: number, readonly count: number }

/** FNV-1a of the user id, mod the part count: stable across instances and releases. */
export function partOf (userId: string, count: number): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash % count
}
