// The few schema shapes the environment's variables are made of, each with its one-line description.
import { Type, type TSchema } from '@sinclair/typebox'

export const Int = (defaultValue: number, description: string, minimum = 0): TSchema => Type.Integer({ minimum, default: defaultValue, description })
export const Str = (description: string): TSchema => Type.String({ minLength: 1, description })
export const HttpUrl = (description: string): TSchema => Type.String({ format: 'uri', pattern: '^https?://', description })
export const Enum = (values: readonly string[], defaultValue: string, description: string): TSchema =>
  Type.Union(values.map((v) => Type.Literal(v)), { default: defaultValue, description })

/** A comma-separated list, trimmed, without empty entries. */
export const splitList = (value: string | undefined, separator = ','): string[] =>
  (value ?? '').split(separator).map((v) => v.trim()).filter((v) => v !== '')
