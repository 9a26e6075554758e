// Vercel edge entry: e.g. `app/api/[...path]/route.ts` re-exporting `POST` and `GET` with
// `export const runtime = 'edge'`. The settings come from the environment.
import { createEdgeChat, type EdgeChatEnv } from './app.js'

const app = createEdgeChat(process.env as unknown as EdgeChatEnv)

export const runtime = 'edge'
export const GET = (request: Request) => app.fetch(request)
export const POST = (request: Request) => app.fetch(request)
