// Runs async work one at a time per key, in the order it was asked for, across component
// instances. Leaving a prompt flushes its pending save from the editor being unmounted; opening
// the prompt again creates a new editor whose own saves (and its first read of the draft) must
// not overtake that flush, or an older text could land last and overwrite a newer one.
const tails = new Map<string, Promise<unknown>>();

export function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return run;
}
