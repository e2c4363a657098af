// The slice of autocannon's result the bench reads (the package ships no types).
declare module 'autocannon' {
  /** One request of the cycle; `setupRequest` is called each time it is sent (a new path per request). */
  interface Request { path?: string, headers?: Record<string, string>, setupRequest?: (request: Request) => Request }
  interface Options { url: string, headers?: Record<string, string>, connections?: number, duration?: number, requests?: Request[] }
  interface Histogram { average: number, p99: number, total: number }
  interface Result { requests: Histogram, latency: Histogram, non2xx: number, errors: number }
  export default function autocannon (options: Options): Promise<Result>
}
