// Vercel's edge entry (vercel.ts) as a service-worker script: how the `edge-runtime` sandbox runs it.
import { GET, POST } from './vercel.js'

interface FetchEvent {
  readonly request: Request
  respondWith(response: Promise<Response>): void
}
declare function addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void

addEventListener('fetch', (event) => event.respondWith(event.request.method === 'GET' ? GET(event.request) : POST(event.request)))
