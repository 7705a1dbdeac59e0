/** Bytes to replace; a form that is short and only ever printed in one place also says what stands around it. */
export interface Form {
  readonly bytes: Buffer
  /** Must come just before `bytes` (it stays in the output). */
  readonly before?: Buffer | undefined
  /** Must come just after `bytes` (it stays in the output). */
  readonly after?: Buffer | undefined
}
