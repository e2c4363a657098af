// Where the development sign-in serves its issuer (src/dev/), known here because production refuses
// any identity configuration naming it (a copied development env), and the check of a URL against it.
export const DEV_IDENTITY_PATH = '/dev/identity'

/** True when `url` names the development issuer or its JWKS (any host): never valid in production. */
export function pointsAtDevIdentity (url: string): boolean {
  try {
    const path = new URL(url).pathname.replace(/\/+$/, '')
    return path === DEV_IDENTITY_PATH || path.startsWith(`${DEV_IDENTITY_PATH}/`)
  } catch {
    return false
  }
}
