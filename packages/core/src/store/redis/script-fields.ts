import { StoreUnavailableError } from '../../shared/errors.js'

/**
 * The named fields of the Lua scripts' arguments and replies, in the order they are sent. Each
 * shape is one list, used by both sides: the scripts get it as a Lua table (`FIELDS`, see
 * `fieldsLua`) and read an argument record by name (`take`), the store writes one with `toArgs`
 * and reads a reply record with `fromReply`. A new field is one line here, plus its use.
 *
 * An argument record is count-prefixed: its field count, then its values. The script checks the
 * count, so a caller and a script of different versions fail loudly instead of misreading.
 */
export const fields = {
  /** A reservation of the reserve script; its `count` counters follow it. */
  reserveLease: ['now', 'expiresAt', 'leaseId', 'release', 'record', 'count'],
  /** One counter of a reservation (`a`, `b`: the window, see `windowArgs`). */
  reserveCounter: ['kind', 'limit', 'amount', 'hold', 'a', 'b', 'family', 'identifier', 'group'],
  /** A lease of the settle script; its `count` charges follow it. */
  settleLease: ['now', 'leaseId', 'count'],
  /** One charge of a settlement. */
  settleCharge: ['kind', 'placement', 'held', 'amount', 'a', 'b'],
  /** One counter of the read script. */
  readCounter: ['kind', 'a', 'b', 'limit', 'family', 'identifier'],
  /** Reply: one counter of a reservation that holds (`limit`: -1 unless an override changed it). */
  placed: ['placement', 'used', 'reserved', 'windowStart', 'resetAt', 'limit', 'held'],
  /** Reply: one refusing counter of a reservation. */
  refused: ['index', 'used', 'reserved', 'windowStart', 'resetAt', 'retryAt', 'limit'],
  /** Reply: one counter of a read. */
  snapshot: ['used', 'reserved', 'windowStart', 'resetAt', 'limit'],
} as const

export type Shape = keyof typeof fields
type FieldName<S extends Shape> = (typeof fields)[S][number]

/** The shapes as a Lua table, for the scripts' source. */
export const fieldsLua = `local FIELDS = {\n${Object.entries(fields)
  .map(([shape, names]) => `  ${shape} = { ${names.map((name) => `'${name}'`).join(', ')} },`)
  .join('\n')}\n}`

/** An argument record: its field count, then each field's value in the shape's order. */
export function toArgs<S extends Shape>(shape: S, values: Readonly<Record<FieldName<S>, string>>): string[] {
  const names = fields[shape] as readonly FieldName<S>[]
  const args = [String(names.length)]
  for (const name of names) args.push(values[name])
  return args
}

/** A reply record of `shape` at `offset` in a reply of numbers. */
export function fromReply<S extends Shape>(shape: S, reply: readonly number[], offset: number): Record<FieldName<S>, number> {
  const names = fields[shape] as readonly FieldName<S>[]
  if (offset + names.length > reply.length) {
    throw new StoreUnavailableError({ message: `Redis answered with a ${shape} reply cut short (${reply.length - offset} of ${names.length} values)` })
  }
  const record = {} as Record<FieldName<S>, number>
  names.forEach((name, index) => {
    record[name] = reply[offset + index]!
  })
  return record
}

/** The number of values of one `shape` record in a reply. */
export function widthOf(shape: Shape): number {
  return fields[shape].length
}

/** Lua: reading argument records by name, writing reply records in their shape's order. */
export const fieldsHelpersLua = `${fieldsLua}

-- An argument record of a shape at ARGV[base + 1]: its field count (checked: caller and script
-- must agree), then its values. Returns the record (fields by name) and the next base.
local function take(base, shape)
  local names = FIELDS[shape]
  if tonumber(ARGV[base + 1]) ~= #names then
    error('tokenquota: ' .. shape .. ' record of ' .. tostring(ARGV[base + 1]) .. ' fields, expected ' .. #names)
  end
  local record = {}
  for i = 1, #names do record[names[i]] = ARGV[base + 1 + i] end
  return record, base + 1 + #names
end

-- Appends a reply record: its fields in the shape's order.
local function put(out, shape, record)
  for _, name in ipairs(FIELDS[shape]) do table.insert(out, record[name]) end
end
`
