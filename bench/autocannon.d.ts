// The slice of autocannon's result the bench reads (the package ships no types).
declare module 'autocannon' {
  interface Options { url: string, headers?: Record<string, string>, connections?: number, duration?: number }
  interface Histogram { average: number, p99: number }
  interface Result { requests: Histogram, latency: Histogram, non2xx: number, errors: number }
  export default function autocannon (options: Options): Promise<Result>
}
