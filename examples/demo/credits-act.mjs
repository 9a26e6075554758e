// The demo's second act: selling usage. dee is on the starter plan (600 tokens a day); what the plan
// cannot hold spills into her prepaid credits. A payment webhook for a 1,000-credit pack arrives
// twice (the provider retried): the event id is the top-up's key, so she is credited once. Her
// conversation runs out of plan, into credits, and then out of credits: refused, nothing charged.
import { createTokenQuota, MemoryStore, TokenQuotaExceededError } from '@tokenquota/core'
import { withTokenQuota } from '@tokenquota/openai'

const dee = { user: 'dee', plan: 'starter' }
const questions = ['How do credits work?', 'What happens when my plan runs out?', 'Can I buy more credits?', 'Where do I see my balance?']

/**
 * @param {{ openai: () => import('openai').OpenAI, log: (line: string) => void, store?: import('@tokenquota/core/store').QuotaStore }} options
 * @returns the calls answered and refused, and the tokens charged to the plan and to credits
 */
export async function creditsAct({ openai, log, store = new MemoryStore() }) {
  const totals = { answered: 0, refused: 0, plan: 0, credits: 0 }
  const quota = createTokenQuota({
    store,
    policies: [
      { name: 'starter-daily', identifier: 'user', allow: 600, interval: 1, timeUnit: 'day', spillTo: 'credits' },
      { name: 'credits', type: 'balance', identifier: 'user', lowAt: 500 },
    ],
    on: {
      creditsLow: (event) => log(`⚠  ${event.identifier}'s credits are low: ${event.balance} left`),
      // Each call's split between the plan and the credits, as the usage event reports it.
      usage: (event) => {
        const charged = Object.fromEntries(event.charges.map((charge) => [charge.policy, charge.amount]))
        totals.plan += charged['starter-daily'] ?? 0
        totals.credits += charged.credits ?? 0
        if (charged.credits > 0) log(`⇢  dee: ${event.usage.total} tokens = plan ${charged['starter-daily'] ?? 0} + credits ${charged.credits}`)
      },
    },
  })
  const client = withTokenQuota(openai(), { quota })
  log('Selling usage — dee: starter plan, 600 tokens a day, then her prepaid credits')

  // The payment provider's webhook, delivered twice: the event id makes the second a no-op.
  const payment = { id: 'evt_demo_dee_pack', credits: 1_000 }
  for (const delivery of [1, 2]) {
    const { applied, balance } = await quota.admin.topUp({ policy: 'credits', context: dee, amount: payment.credits, key: payment.id, by: 'payments' })
    log(
      `💳 payment ${payment.id} (delivery ${delivery}): ${applied ? `credited ${payment.credits}` : 'already applied, nothing credited'}; balance ${balance.balance}`,
    )
  }

  const history = []
  for (let round = 0; round < 12 && totals.refused === 0; round += 1) {
    const question = { role: 'user', content: questions[round % questions.length] }
    try {
      const completion = await quota.withContext(dee, () =>
        client.chat.completions.create({ model: 'gpt-4o-mini', messages: [...history, question], max_completion_tokens: 120 }),
      )
      history.push(question, { role: 'assistant', content: completion.choices[0].message.content ?? '' })
      totals.answered += 1
    } catch (error) {
      if (!TokenQuotaExceededError.isInstance(error)) throw error
      totals.refused += 1
      log(`✗  dee: refused (${error.code}), ${error.explain()}`)
    }
  }
  await quota.flush()
  const { balance } = await quota.admin.credits({ policy: 'credits', context: dee })
  const ledger = await quota.admin.ledger({ policy: 'credits', context: dee })
  const sum = ledger.reduce((total, row) => total + row.amount, 0)
  log(
    `  dee (starter): ${totals.answered} answered, ${totals.refused} refused; plan ${totals.plan} of 600, credits ${totals.credits} spent of ${payment.credits}, ${balance} left`,
  )
  log(`  ledger: ${ledger.length} rows (${ledger.filter((row) => row.kind === 'topup').length} top-up), summing to ${sum}, the balance`)
  return totals
}
