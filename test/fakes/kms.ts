// A KMS stand-in: a real node:http server speaking KMS's JSON 1.1 protocol (POST / with
// X-Amz-Target: TrentService.<Operation>, base64 blobs, errors as `{"__type": …, "message": …}`), so
// the service's real SDK client talks to it over the wire. No KMS emulator is packaged; this one does
// what the service uses: Decrypt and GenerateDataKey, with the encryption context bound to the blob
// (as KMS binds it: a blob opens only under the context it was made with).
// @see https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html
// @see https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html
// @see https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Test } from 'tap'

/** Error types KMS answers with (its `__type`), and their HTTP status. */
export const KMS_ERRORS = {
  AccessDeniedException: 400,
  DisabledException: 400,
  IncorrectKeyException: 400,
  InvalidCiphertextException: 400,
  KMSInternalException: 500,
  MissingAuthenticationTokenException: 400,
  NotFoundException: 400,
  UnknownOperationException: 400,
  ValidationException: 400
} as const
export type KmsErrorType = keyof typeof KMS_ERRORS

class KmsWireError extends Error {
  constructor (readonly type: KmsErrorType, message: string) { super(message) }
}

interface FakeKey { readonly id: string, readonly arn: string, readonly material: Buffer, enabled: boolean }

export interface KmsCall {
  /** `Decrypt`, `GenerateDataKey`, … (X-Amz-Target without the TrentService prefix). */
  readonly operation: string
  readonly keyId?: string | undefined
  readonly encryptionContext?: Record<string, string> | undefined
  /** The `__type` answered, or undefined for a 200. */
  readonly error?: KmsErrorType | undefined
}

// Blob: magic, key uuid (36 ASCII), 12-byte nonce, AES-GCM body and tag over the plaintext with the
// canonical encryption context as associated data.
const MAGIC = Buffer.from('SKMS')
const UUID_BYTES = 36
const NONCE_BYTES = 12

const canonicalContext = (context: Record<string, string> | undefined): Buffer =>
  Buffer.from(JSON.stringify(Object.entries(context ?? {}).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)))

export class KmsFake {
  readonly region: string
  readonly account: string
  /** ARN of the key made at start (what TOKEN_KMS_KEY_ID names in env()). */
  readonly keyArn: string
  readonly calls: KmsCall[] = []
  /** Set: every call answers this error (KMS refusing: a policy that lost kms:Decrypt, a revoked grant). */
  refuse: KmsErrorType | undefined
  /** Accepts connections and never answers (a KMS endpoint that hangs). */
  stall = false
  /** The plaintext of every data key GenerateDataKey handed out (base64): canaries for the tests. */
  readonly generatedPlaintexts: string[] = []
  private readonly keys = new Map<string, FakeKey>()
  private readonly aliases = new Map<string, string>()
  private readonly sockets = new Set<Socket>()

  private constructor (private readonly server: Server, readonly endpoint: string, options: { region: string, account: string }) {
    this.region = options.region
    this.account = options.account
    this.keyArn = this.createKey('alias/oauth-refresher-tokens')
  }

  static async start (t: Test, options: { region?: string, account?: string } = {}): Promise<KmsFake> {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const fake = new KmsFake(server, `http://127.0.0.1:${port}`, { region: options.region ?? 'us-east-1', account: options.account ?? '111122223333' })
    server.on('request', (req: IncomingMessage, res: ServerResponse) => { fake.handle(req, res).catch(() => res.destroy()) })
    server.on('connection', (socket: Socket) => {
      fake.sockets.add(socket)
      socket.once('close', () => fake.sockets.delete(socket))
    })
    t.teardown(async () => { await fake.close() })
    return fake
  }

  /** KMS_ENDPOINT and TOKEN_KMS_KEY_ID for this stand-in. */
  env (): Record<string, string> {
    return { KMS_ENDPOINT: this.endpoint, TOKEN_KMS_KEY_ID: this.keyArn }
  }

  /** A new symmetric key; returns its ARN. */
  createKey (alias?: string): string {
    const id = randomUUID()
    const arn = `arn:aws:kms:${this.region}:${this.account}:key/${id}`
    this.keys.set(id, { id, arn, material: randomBytes(32), enabled: true })
    if (alias !== undefined) this.aliases.set(alias, id)
    return arn
  }

  setEnabled (keyArn: string, enabled: boolean): void {
    const key = this.resolve(keyArn)
    if (key !== undefined) key.enabled = enabled
  }

  /** What GenerateDataKey would hand out, for a plaintext the test chooses (its canary). */
  wrap (plaintext: Buffer, context: Record<string, string>, keyArn = this.keyArn): Buffer {
    const key = this.resolve(keyArn)
    if (key === undefined) throw new Error(`no key ${keyArn}`)
    return this.seal(key, plaintext, context)
  }

  /** Operations answered so far, by name. */
  callsOf (operation: string): KmsCall[] {
    return this.calls.filter((c) => c.operation === operation)
  }

  async close (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private resolve (keyId: string): FakeKey | undefined {
    // A key id, a key ARN, alias/<name> or an alias ARN, as KMS's KeyId accepts.
    const arnRest = new RegExp(`^arn:aws:kms:${this.region}:${this.account}:(key/.+|alias/.+)$`).exec(keyId)?.[1]
    const name = arnRest ?? keyId
    if (name.startsWith('alias/')) return this.keys.get(this.aliases.get(name) ?? '')
    return this.keys.get(name.replace(/^key\//, ''))
  }

  private seal (key: FakeKey, plaintext: Buffer, context: Record<string, string> | undefined): Buffer {
    const nonce = randomBytes(NONCE_BYTES)
    const cipher = createCipheriv('aes-256-gcm', key.material, nonce)
    cipher.setAAD(canonicalContext(context))
    return Buffer.concat([MAGIC, Buffer.from(key.id, 'ascii'), nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  }

  private open (blob: Buffer, context: Record<string, string> | undefined, keyId: string | undefined): { key: FakeKey, plaintext: Buffer } {
    const invalid = new KmsWireError('InvalidCiphertextException', '')
    if (blob.length < MAGIC.length + UUID_BYTES + NONCE_BYTES + 16 || !blob.subarray(0, MAGIC.length).equals(MAGIC)) throw invalid
    const uuid = blob.subarray(MAGIC.length, MAGIC.length + UUID_BYTES).toString('ascii')
    const key = this.keys.get(uuid)
    if (key === undefined) {
      // A blob of a key this account cannot use: KMS's own words.
      throw new KmsWireError('AccessDeniedException', 'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.')
    }
    if (keyId !== undefined) {
      const named = this.resolve(keyId)
      if (named === undefined) throw new KmsWireError('NotFoundException', `Key '${keyId}' does not exist`)
      if (named.id !== key.id) throw new KmsWireError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.')
    }
    if (!key.enabled) throw new KmsWireError('DisabledException', `${key.arn} is disabled.`)
    const start = MAGIC.length + UUID_BYTES
    const nonce = blob.subarray(start, start + NONCE_BYTES)
    const body = blob.subarray(start + NONCE_BYTES)
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, nonce)
      decipher.setAAD(canonicalContext(context))
      decipher.setAuthTag(body.subarray(body.length - 16))
      return { key, plaintext: Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]) }
    } catch {
      // Another encryption context (or a tampered blob): KMS says only this, with no message.
      throw invalid
    }
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    if (this.stall) return
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '')
    let body: Record<string, unknown> = {}
    let call: KmsCall = { operation }
    try {
      if (req.method !== 'POST' || req.url !== '/' || req.headers['content-type'] !== 'application/x-amz-json-1.1') {
        throw new KmsWireError('ValidationException', 'expected POST / with Content-Type application/x-amz-json-1.1')
      }
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
        throw new KmsWireError('MissingAuthenticationTokenException', 'Missing Authentication Token')
      }
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>
      const context = body.EncryptionContext as Record<string, string> | undefined
      const keyId = typeof body.KeyId === 'string' ? body.KeyId : undefined
      call = { operation, keyId, encryptionContext: context }
      if (this.refuse !== undefined) throw new KmsWireError(this.refuse, `refused by the stand-in (${this.refuse})`)
      const answer = this.operate(operation, body, context, keyId)
      this.calls.push(call)
      this.reply(res, 200, answer)
    } catch (err) {
      const wire = err instanceof KmsWireError ? err : new KmsWireError('ValidationException', 'malformed request')
      this.calls.push({ ...call, error: wire.type })
      this.reply(res, KMS_ERRORS[wire.type], { __type: wire.type, ...(wire.message === '' ? {} : { message: wire.message }) })
    }
  }

  private operate (operation: string, body: Record<string, unknown>, context: Record<string, string> | undefined, keyId: string | undefined): Record<string, unknown> {
    if (operation === 'Decrypt') {
      if (typeof body.CiphertextBlob !== 'string') throw new KmsWireError('ValidationException', 'CiphertextBlob is required')
      const { key, plaintext } = this.open(Buffer.from(body.CiphertextBlob, 'base64'), context, keyId)
      return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }
    }
    if (operation === 'GenerateDataKey') {
      if (keyId === undefined) throw new KmsWireError('ValidationException', '1 validation error detected: Value null at \'keyId\' failed to satisfy constraint: Member must not be null')
      const bytes = body.KeySpec === 'AES_256' ? 32 : body.KeySpec === 'AES_128' ? 16 : typeof body.NumberOfBytes === 'number' ? body.NumberOfBytes : 0
      if (bytes < 1 || bytes > 1024 || (body.KeySpec !== undefined && body.NumberOfBytes !== undefined)) throw new KmsWireError('ValidationException', 'give KeySpec or NumberOfBytes')
      const key = this.resolve(keyId)
      if (key === undefined) throw new KmsWireError('NotFoundException', `Key '${keyId}' does not exist`)
      if (!key.enabled) throw new KmsWireError('DisabledException', `${key.arn} is disabled.`)
      const plaintext = randomBytes(bytes)
      this.generatedPlaintexts.push(plaintext.toString('base64'))
      return { KeyId: key.arn, CiphertextBlob: this.seal(key, plaintext, context).toString('base64'), Plaintext: plaintext.toString('base64') }
    }
    throw new KmsWireError('UnknownOperationException', '')
  }

  private reply (res: ServerResponse, status: number, body: Record<string, unknown>): void {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() })
    res.end(JSON.stringify(body))
  }
}

/** An endpoint where nothing listens (KMS unreachable): a port that was free a moment ago. */
export async function closedEndpoint (): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}
