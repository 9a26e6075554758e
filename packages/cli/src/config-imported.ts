// Apart from config-module.ts (which loads core): the bin asks after every command, --help included.
let imported = false

/** Records that a config module is being imported. */
export function importingConfigModule(): void {
  imported = true
}

/** Whether a config module was imported: it may hold the process open (a client the app's module makes at import). */
export function importedConfigModule(): boolean {
  return imported
}
