import type { CreditBalance, CreditLedgerRow } from '@tokenquota/core'
import { printable } from '../printable.js'
import { amount, instant, table } from '../table.js'

type Unit = CreditBalance['unit']

/** A signed amount: `-120`, `-$0.50`, `5,000`. */
export function signed(value: number, unit: Unit): string {
  return value < 0 ? `-${amount(-value, unit)}` : amount(value, unit)
}

/** An amount with its unit: `5,000 tokens`, `1 token`, `$12.50`. */
export function withUnit(value: number, unit: Unit): string {
  if (unit === 'usd') return amount(value, unit)
  return `${amount(value, unit)} ${value === 1 ? unit.slice(0, -1) : unit}`
}

/** `balance 5,000 tokens, 120 reserved, 4,880 available`. */
export function balanceLine(balance: CreditBalance): string {
  const { unit } = balance
  const reserved = balance.reserved === 0 ? '' : `, ${amount(balance.reserved, unit)} reserved`
  return `balance ${withUnit(balance.balance, unit)}${reserved}, ${amount(balance.available, unit)} available`
}

/** The grants with something left, in spending order. */
export function grantsTable(balance: CreditBalance): string {
  if (balance.grants.length === 0) return 'no credit grants with anything left'
  return table(
    ['KEY', 'AMOUNT', 'REMAINING', 'PRIORITY', 'EXPIRES', 'GRANTED'],
    balance.grants.map((grant) => [
      grant.key,
      amount(grant.amount, balance.unit),
      amount(grant.remaining, balance.unit),
      String(grant.priority),
      grant.expiresAt === undefined ? 'never' : instant(grant.expiresAt),
      instant(grant.grantedAt),
    ]),
  )
}

/** What a ledger row is about: the grant, the lease and what it drew, who and why. */
function detailOf(row: CreditLedgerRow, unit: Unit): string {
  const parts: string[] = []
  if (row.grant !== undefined) parts.push(`grant ${row.grant}`)
  if (row.leaseId !== undefined) parts.push(`lease ${row.leaseId}`)
  if (row.drawn !== undefined && row.drawn.length > 0) parts.push(`from ${row.drawn.map((draw) => `${draw.grant} ${amount(draw.amount, unit)}`).join(', ')}`)
  if (row.unpaid !== undefined && row.unpaid > 0) parts.push(`unpaid ${amount(row.unpaid, unit)}`)
  if (row.by !== undefined) parts.push(`by ${row.by}`)
  if (row.reason !== undefined) parts.push(`"${row.reason}"`)
  return printable(parts.join('; '))
}

/** A balance's ledger rows, oldest first. */
export function ledgerTable(rows: readonly CreditLedgerRow[], unit: Unit): string {
  return table(
    ['SEQ', 'AT', 'KIND', 'AMOUNT', 'BALANCE', 'DETAIL'],
    rows.map((row) => [String(row.seq), instant(row.at), row.kind, signed(row.amount, unit), amount(row.balanceAfter, unit), detailOf(row, unit)]),
  )
}
