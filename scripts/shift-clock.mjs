// Preloaded with `--import` (through NODE_OPTIONS, so every Node process a test starts gets it
// too): moves `Date` forward by TOKENQUOTA_CLOCK_SHIFT_MS. Timers and `performance.now()` are
// untouched; only what reads the calendar sees the future. Used by test-a-year-ahead.mjs to prove
// that no test depends on today's date.
const shift = Number(process.env.TOKENQUOTA_CLOCK_SHIFT_MS ?? 0)
if (!Number.isFinite(shift))
  throw new Error(`Expected TOKENQUOTA_CLOCK_SHIFT_MS to be a number of milliseconds, got "${process.env.TOKENQUOTA_CLOCK_SHIFT_MS}"`)

if (shift !== 0 && !globalThis.Date.__tokenquotaShifted) {
  const RealDate = globalThis.Date
  const now = () => RealDate.now() + shift
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) => Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget),
    apply: () => new RealDate(now()).toString(),
    get: (target, property, receiver) => {
      if (property === 'now') return now
      if (property === '__tokenquotaShifted') return true
      return Reflect.get(target, property, receiver)
    },
  })
}
