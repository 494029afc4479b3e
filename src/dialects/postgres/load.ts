/**
 * Loads `pg`, an optional peer dependency, only when a worker serves a PostgreSQL URL: SQLite
 * users never install it. The subset of `pg` sqlaio uses is declared here as interfaces, so the
 * rest of the code depends on those shapes rather than on `pg`'s types.
 */

/** The messages of `pg`'s protocol parser that sqlaio reads. */
export interface PgField {
  name: string
  dataTypeID: number
  dataTypeModifier: number
  /** How the column's values are sent: text, or binary (the portal's Bind asked for it). */
  format: 'text' | 'binary'
}

/** `pg`'s connection: the socket and the protocol writer under a Client. */
export interface PgConnection {
  stream: {
    pause(): void
    resume(): void
    write(chunk: Buffer): boolean
    listeners(event: 'data'): ((chunk: Buffer) => void)[]
    removeListener(event: 'data', listener: (chunk: Buffer) => void): void
    on(event: 'data', listener: (chunk: Buffer) => void): void
  }
  on(event: string, listener: (message: never) => void): void
  removeListener(event: string, listener: (message: never) => void): void
}

/** A `pg` Client. */
export interface PgClient {
  readonly processID: number | null
  readonly secretKey: number | null
  readonly host: string
  readonly port: number
  readonly connection: PgConnection
  connect(): Promise<void>
  end(): Promise<void>
  query(
    config: unknown,
    values?: unknown[],
  ): Promise<{ rowCount: number | null; rows: unknown[][]; fields: PgField[] }>
  on(event: 'error', listener: (error: Error) => void): void
}

export interface PgModule {
  Client: new (config: {
    connectionString: string
    types?: { getTypeParser: () => (value: string) => unknown }
  }) => PgClient
}

/** Imports `pg`, or throws an error that says how to install it. */
export async function loadPg(): Promise<PgModule> {
  try {
    const module = (await import('pg')) as unknown as { default?: PgModule } & PgModule
    return module.default ?? module
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(
        "PostgreSQL URLs need the 'pg' package, which is an optional peer dependency of sqlaio: run `npm install pg`",
        { cause: error },
      )
    }
    throw error
  }
}
