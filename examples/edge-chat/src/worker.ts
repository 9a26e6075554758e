// Cloudflare Worker entry (wrangler.toml): one app per isolate, made from the bindings on first use.
import { createEdgeChat, type EdgeChatEnv } from './app.js'

let app: ReturnType<typeof createEdgeChat> | undefined

export default {
  fetch(request: Request, env: EdgeChatEnv): Promise<Response> {
    app ??= createEdgeChat(env)
    return app.fetch(request)
  },
}
